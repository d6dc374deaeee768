package org.twobp.worker.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.twobp.worker.schedule.auto.AutoScheduler;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.picture.AsciiTimeline;
import org.twobp.worker.schedule.sim.CostModel;
import org.twobp.worker.schedule.sim.LinkModel;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;

/**
 * {@code simulate --compare}: every schedule without and with 2BP under the same costs: makespan,
 * 2BP speed-up (makespan without / with), bubble ratio, peak stash, and time per micro-batch so
 * that rows with different M can be compared.
 */
final class CompareTable {
    private record Row(String name, int microbatches, SimulationResult fused, SimulationResult split,
            String unavailable) {
    }

    private CompareTable() {
    }

    /**
     * @param microbatches null: each schedule at its own M (the paper's table); else all at this M
     */
    static String render(int ranks, Integer microbatches, int chunks, int stashCap, double memoryCap,
            CostModel costs, LinkModel link) {
        Simulator simulator = new Simulator(costs, link);
        List<Row> rows = new ArrayList<>();
        for (ScheduleFamily family : ScheduleFamily.values()) {
            int m = microbatches != null ? microbatches : family.presetMicrobatches(ranks);
            int v = family == ScheduleFamily.INTERLEAVED ? chunks : 1;
            String problem = family.constraint(ranks, m, v);
            if (problem != null) {
                rows.add(new Row(family.title(), m, null, null, problem));
                continue;
            }
            Schedule split = family.build(ranks, m, true, v, stashCap);
            Schedule fused = family.build(ranks, m, false, v, stashCap);
            // With one M for all, 1F1B-1 and 1F1B-2 are the same schedule: show it once.
            if (rows.stream().noneMatch(r -> r.name().equals(fused.name()))) {
                rows.add(new Row(fused.name(), m, simulator.run(fused), simulator.run(split), null));
            }
        }
        int m = microbatches != null ? microbatches : ranks;
        AutoScheduler auto = new AutoScheduler(costs, link, memoryCap);
        String capText = Double.isInfinite(memoryCap) ? "" : " (stash <= " + AsciiTimeline.number(memoryCap) + ")";
        try {
            rows.add(new Row("Auto" + capText, m, auto.schedule(ranks, m, false).simulation(),
                    auto.schedule(ranks, m, true).simulation(), null));
        } catch (ScheduleException e) {
            rows.add(new Row("Auto" + capText, m, null, null, e.getMessage()));
        }
        return format(ranks, costs, link, rows);
    }

    private static String format(int ranks, CostModel costs, LinkModel link, List<Row> rows) {
        int nameWidth = "schedule".length();
        for (Row r : rows) {
            nameWidth = Math.max(nameWidth, r.name().length());
        }
        StringBuilder sb = new StringBuilder();
        sb.append("P = ").append(ranks).append(" stages; costs ").append(costs)
                .append("; link ").append(link.latency() == 0 && Double.isInfinite(link.bytesPerSecond())
                        ? "free" : "latency " + link.latency() + ", " + link.bytesPerSecond() + " B/s")
                .append('\n');
        String head = "%-" + nameWidth + "s  %3s  %17s  %8s  %15s  %15s  %13s%n";
        sb.append(String.format(Locale.ROOT, head, "schedule", "M", "makespan", "2BP", "bubble ratio",
                "peak stash", "time per"));
        sb.append(String.format(Locale.ROOT, head, "", "", "no 2BP -> 2BP", "speed-up", "no 2BP -> 2BP",
                "no 2BP -> 2BP", "micro-batch"));
        String line = "%-" + nameWidth + "s  %3d  %7s -> %-7s  %7.2fx  %5.1f%% -> %5.1f%%  %5s -> %-6s  %5s -> %-5s%n";
        for (Row r : rows) {
            if (r.unavailable() != null) {
                sb.append(String.format(Locale.ROOT, "%-" + nameWidth + "s  %3d  n/a: %s%n", r.name(),
                        r.microbatches(), r.unavailable()));
                continue;
            }
            double a = r.fused().makespan();
            double b = r.split().makespan();
            sb.append(String.format(Locale.ROOT, line, r.name(), r.microbatches(), AsciiTimeline.number(a),
                    AsciiTimeline.number(b), a / b, 100 * r.fused().bubbleRatio(), 100 * r.split().bubbleRatio(),
                    AsciiTimeline.number(r.fused().maxPeakStash()), AsciiTimeline.number(r.split().maxPeakStash()),
                    AsciiTimeline.number(round(a / r.microbatches())),
                    AsciiTimeline.number(round(b / r.microbatches()))));
        }
        sb.append("peak stash = most micro-batches with live activations (and, with 2BP, output-gradients)"
                + " on one rank\n");
        return sb.toString();
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
