package org.twobp.worker.schedule.picture;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.ScheduleException;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.TimedAction;

/**
 * Timelines drawn like the paper's Figure 1: one row per rank, one box per compute action,
 * coloured by kind (forward, p1, p2, fused backward) and labelled with its micro-batch(es);
 * several panels (typically without and with 2BP) one above the other on one time axis, so the
 * shorter makespan shows directly. Plain Java2D, headless.
 */
public final class TimelinePng {
    /** One panel: a title and the simulation to draw. */
    public record Panel(String title, SimulationResult result) {
    }

    static final Color FORWARD = new Color(0x4C, 0x8B, 0xE8);
    static final Color P1 = new Color(0xF2, 0xA5, 0x3A);
    static final Color P2 = new Color(0x4C, 0xAF, 0x6A);
    static final Color FUSED = new Color(0xD9, 0x5B, 0x5B);

    private static final int WIDTH = 1500;
    private static final int LEFT = 90;
    private static final int RIGHT = 30;
    private static final int ROW = 34;
    private static final int TITLE = 34;
    private static final int AXIS = 30;
    private static final int GAP = 18;
    private static final int LEGEND = 40;

    private TimelinePng() {
    }

    public static void write(Path file, String heading, List<Panel> panels) {
        BufferedImage image = draw(heading, panels);
        try {
            if (!ImageIO.write(image, "png", file.toFile())) {
                throw new ScheduleException("no PNG writer available to write " + file);
            }
        } catch (IOException e) {
            throw new ScheduleException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    public static BufferedImage draw(String heading, List<Panel> panels) {
        // Drawing into an image needs no display; say so before AWT starts, so servers work too.
        System.setProperty("java.awt.headless", "true");
        double makespan = panels.stream().mapToDouble(p -> p.result().makespan()).max().orElse(1);
        int height = TITLE + LEGEND;
        for (Panel p : panels) {
            height += TITLE + p.result().ranks() * ROW + AXIS + GAP;
        }
        BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        g.drawString(heading, LEFT, 24);
        double scale = (WIDTH - LEFT - RIGHT) / Math.max(makespan, 1e-12);
        int y = TITLE;
        for (Panel p : panels) {
            y = drawPanel(g, p, y, scale, makespan);
        }
        boolean chunked = panels.stream().anyMatch(p -> p.result().schedule().chunksPerRank() > 1);
        drawLegend(g, height - LEGEND + 12, chunked);
        g.dispose();
        return image;
    }

    private static int drawPanel(Graphics2D g, Panel panel, int top, double scale, double makespan) {
        SimulationResult result = panel.result();
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(panel.title() + String.format(Locale.ROOT, "   (makespan %s, bubble %.1f%%, peak stash %s)",
                AsciiTimeline.number(result.makespan()), 100 * result.bubbleRatio(),
                AsciiTimeline.number(result.maxPeakStash())), LEFT, top + 22);
        int rowsTop = top + TITLE;
        int chunks = Math.max(1, result.schedule().chunksPerRank());
        for (int r = 0; r < result.ranks(); r++) {
            int y = rowsTop + r * ROW;
            g.setColor(new Color(0xF4, 0xF4, 0xF4));
            g.fillRect(LEFT, y + 2, (int) Math.round(result.makespan() * scale), ROW - 4);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
            g.drawString("rank " + r, 14, y + ROW / 2 + 5);
            for (TimedAction t : result.timeline().get(r)) {
                if (t.action().isCompute() && t.duration() > 0) {
                    drawBox(g, t, y, scale, chunks, result.schedule().stages());
                }
            }
        }
        int axisY = rowsTop + result.ranks() * ROW + 4;
        g.setColor(Color.DARK_GRAY);
        g.setStroke(new BasicStroke(1));
        g.drawLine(LEFT, axisY, WIDTH - RIGHT, axisY);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        double step = tickStep(makespan);
        for (double t = 0; t <= makespan + 1e-9; t += step) {
            int x = LEFT + (int) Math.round(t * scale);
            g.drawLine(x, axisY, x, axisY + 5);
            String label = AsciiTimeline.number(t);
            g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, axisY + 18);
        }
        int end = LEFT + (int) Math.round(result.makespan() * scale);
        g.setColor(new Color(0x99, 0x00, 0x00));
        g.setStroke(new BasicStroke(2, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0));
        g.drawLine(end, rowsTop - 4, end, axisY);
        g.setStroke(new BasicStroke(1));
        return axisY + AXIS + GAP;
    }

    private static void drawBox(Graphics2D g, TimedAction t, int y, double scale, int chunks, int stages) {
        int x0 = LEFT + (int) Math.round(t.start() * scale);
        int x1 = LEFT + (int) Math.round(t.end() * scale);
        Color fill = colour(t.action().kind());
        // The second half of a V (or later chunks) in a deeper shade, so chunks can be told apart.
        int chunk = t.action().stage() / Math.max(1, stages / chunks);
        if (chunks > 1 && chunk % 2 == 1) {
            fill = fill.darker();
        }
        g.setColor(fill);
        g.fillRect(x0, y + 3, Math.max(1, x1 - x0), ROW - 6);
        g.setColor(Color.BLACK);
        g.drawRect(x0, y + 3, Math.max(1, x1 - x0), ROW - 6);
        String label = t.action().microbatches().size() == 1 ? Integer.toString(t.action().microbatches().first())
                : t.action().microbatches().text().replace("[", "").replace("]", "");
        int size = 14;
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, size));
        FontMetrics fm = g.getFontMetrics();
        while (fm.stringWidth(label) > x1 - x0 - 2 && size > 7) {
            size--;
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, size));
            fm = g.getFontMetrics();
        }
        if (fm.stringWidth(label) <= x1 - x0 - 2) {
            g.setColor(Color.WHITE);
            g.drawString(label, (x0 + x1 - fm.stringWidth(label)) / 2, y + ROW / 2 + fm.getAscent() / 2 - 2);
        }
    }

    static Color colour(ActionKind kind) {
        return switch (kind) {
            case F -> FORWARD;
            case I -> P1;
            case W -> P2;
            case B -> FUSED;
            default -> Color.GRAY;
        };
    }

    private static void drawLegend(Graphics2D g, int y, boolean chunked) {
        String[] labels = {"forward (F)", "backward-p1 (I)", "backward-p2 (W)", "fused backward (B, no 2BP)"};
        ActionKind[] kinds = {ActionKind.F, ActionKind.I, ActionKind.W, ActionKind.B};
        int x = LEFT;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        for (int i = 0; i < labels.length; i++) {
            g.setColor(colour(kinds[i]));
            g.fillRect(x, y, 26, 16);
            g.setColor(Color.BLACK);
            g.drawRect(x, y, 26, 16);
            g.drawString(labels[i], x + 34, y + 13);
            x += 60 + g.getFontMetrics().stringWidth(labels[i]);
        }
        g.drawString("numbers = micro-batches; dashed line = makespan; blank = bubble"
                + (chunked ? "; darker = odd chunk" : ""), x + 10, y + 13);
    }

    private static double tickStep(double makespan) {
        double raw = makespan / 15;
        double power = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-12))));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * power >= raw) {
                return m * power;
            }
        }
        return 10 * power;
    }
}
