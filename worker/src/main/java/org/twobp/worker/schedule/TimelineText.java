package org.twobp.worker.schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Draws rows of labelled boxes as text, one row per rank: {@code |F0 |F1 |   |I0 |}. Blank
 * columns are bubbles. A marked box is drawn {@code [I3]} with carets under it, which is how the
 * validator points at the cell it complains about.
 */
public final class TimelineText {
    /** A box from column {@code from} (its left bar) to column {@code to} (its right bar). */
    public record Box(int rank, String label, int from, int to, boolean marked) {
    }

    /** An axis label written at a column above the rows. */
    public record Tick(int column, String label) {
    }

    private TimelineText() {
    }

    public static String render(int ranks, List<Box> boxes, List<Tick> ticks, String markNote) {
        int width = 1;
        for (Box b : boxes) {
            width = Math.max(width, b.to() + 1);
        }
        for (Tick t : ticks) {
            width = Math.max(width, t.column() + t.label().length());
        }
        String prefix = "rank " + " ".repeat(Integer.toString(ranks - 1).length()) + " ";
        StringBuilder out = new StringBuilder();
        if (!ticks.isEmpty()) {
            char[] axis = new char[width];
            Arrays.fill(axis, ' ');
            for (Tick t : ticks) {
                for (int i = 0; i < t.label().length() && t.column() + i < width; i++) {
                    axis[t.column() + i] = t.label().charAt(i);
                }
            }
            out.append(" ".repeat(prefix.length())).append(new String(axis).stripTrailing()).append('\n');
        }
        for (int r = 0; r < ranks; r++) {
            char[] row = new char[width];
            Arrays.fill(row, ' ');
            Box mark = null;
            List<Box> ordered = new ArrayList<>();
            for (Box b : boxes) {
                if (b.rank() == r) {
                    if (b.marked()) {
                        mark = b;
                    } else {
                        ordered.add(b);
                    }
                }
            }
            if (mark != null) {
                ordered.add(mark);
            }
            for (Box b : ordered) {
                draw(row, b);
            }
            String label = "rank " + String.format("%" + Integer.toString(ranks - 1).length() + "d", r) + " ";
            out.append(label).append(new String(row).stripTrailing());
            if (mark != null) {
                out.append("   <-- ").append(markNote);
                out.append('\n').append(" ".repeat(prefix.length()))
                        .append(" ".repeat(mark.from())).append("^".repeat(mark.to() - mark.from() + 1));
            }
            out.append('\n');
        }
        return out.toString();
    }

    private static void draw(char[] row, Box b) {
        row[b.from()] = b.marked() ? '[' : '|';
        int room = b.to() - b.from() - 1;
        String label = b.label().length() > room ? b.label().substring(0, Math.max(0, room)) : b.label();
        for (int i = 0; i < room; i++) {
            row[b.from() + 1 + i] = i < label.length() ? label.charAt(i) : ' ';
        }
        row[b.to()] = b.marked() ? ']' : '|';
    }
}
