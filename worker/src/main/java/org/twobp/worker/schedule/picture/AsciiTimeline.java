package org.twobp.worker.schedule.picture;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.TimelineText;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.TimedAction;

/**
 * A simulated timeline for the terminal: one row per rank, boxes as long as the actions take,
 * blank where the rank idles. {@code F} forward, {@code I} p1, {@code W} p2 ({@code W[4-7]} one
 * concatenated call), {@code B} fused backward.
 */
public final class AsciiTimeline {
    public static final String LEGEND = "F forward   I p1 (backward-input)   W p2 (backward-weight; W[4-7] = one "
            + "concatenated call)   B fused backward   blank = bubble";

    private AsciiTimeline() {
    }

    /** The timeline scaled to at most {@code maxWidth} columns of boxes. */
    public static String render(SimulationResult result, int maxWidth) {
        Schedule schedule = result.schedule();
        double shortest = Double.POSITIVE_INFINITY;
        int longestLabel = 2;
        for (List<TimedAction> row : result.timeline()) {
            for (TimedAction t : row) {
                if (t.action().isCompute() && t.duration() > 0) {
                    shortest = Math.min(shortest, t.duration());
                    longestLabel = Math.max(longestLabel, schedule.text(t.action()).length());
                }
            }
        }
        double makespan = Math.max(result.makespan(), 1e-12);
        // Wide enough for the shortest box to show its label, narrow enough for the terminal.
        double scale = Double.isInfinite(shortest) ? 1 : (longestLabel + 1) / shortest;
        scale = Math.min(scale, Math.max(10, maxWidth) / makespan);
        List<TimelineText.Box> boxes = new ArrayList<>();
        for (int r = 0; r < result.ranks(); r++) {
            for (TimedAction t : result.timeline().get(r)) {
                if (!t.action().isCompute() || t.duration() <= 0) {
                    continue;
                }
                int from = (int) Math.round(t.start() * scale);
                int to = Math.max(from + 1, (int) Math.round(t.end() * scale));
                boxes.add(new TimelineText.Box(r, label(schedule, t, to - from - 1), from, to, false));
            }
        }
        double step = niceStep(makespan, scale);
        List<TimelineText.Tick> ticks = new ArrayList<>();
        for (double time = 0; time <= makespan + 1e-9; time += step) {
            ticks.add(new TimelineText.Tick((int) Math.round(time * scale), number(time)));
        }
        return TimelineText.render(result.ranks(), boxes, ticks, "");
    }

    /** The fullest label that fits: with stage prefix, without it, or just the kind's letter. */
    private static String label(Schedule schedule, TimedAction t, int room) {
        String full = schedule.text(t.action());
        if (full.length() <= room) {
            return full;
        }
        String bare = t.action().text(false);
        return bare.length() <= room ? bare : t.action().kind().symbol();
    }

    /** A summary line: makespan, bubble ratio and the largest peak stash. */
    public static String summary(SimulationResult result) {
        return String.format(Locale.ROOT, "makespan %s   bubble ratio %.1f%%   peak stash %s micro-batches (rank %d)",
                number(result.makespan()), 100 * result.bubbleRatio(), number(result.maxPeakStash()),
                argMax(result.peakStashMicrobatches()));
    }

    /** Per-rank idle time and peak stash, one line each. */
    public static String perRank(SimulationResult result) {
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < result.ranks(); r++) {
            sb.append(String.format(Locale.ROOT, "rank %d: busy %s, idle %s (steady-state bubble %s), peak stash %s%n",
                    r, number(result.busy()[r]), number(result.idle(r)), number(result.steadyStateBubble(r)),
                    number(result.peakStashMicrobatches()[r])));
        }
        return sb.toString();
    }

    private static int argMax(double[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best] + 1e-12) {
                best = i;
            }
        }
        return best;
    }

    /** A tick spacing of 1, 2 or 5 times a power of ten, at least ~8 columns apart. */
    private static double niceStep(double makespan, double scale) {
        double raw = Math.max(8 / scale, makespan / 20);
        double power = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * power >= raw) {
                return m * power;
            }
        }
        return 10 * power;
    }

    /** Compact numbers: "21", "2.5", "0.125". */
    public static String number(double v) {
        if (Math.abs(v - Math.rint(v)) < 1e-9) {
            return Long.toString(Math.round(v));
        }
        String s = String.format(Locale.ROOT, "%.3f", v);
        return s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
}
