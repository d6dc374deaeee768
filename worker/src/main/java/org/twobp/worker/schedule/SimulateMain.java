package org.twobp.worker.schedule;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.twobp.worker.schedule.auto.AutoScheduler;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.picture.AsciiTimeline;
import org.twobp.worker.schedule.picture.TimelinePng;
import org.twobp.worker.schedule.sim.CostModel;
import org.twobp.worker.schedule.sim.LinkModel;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;

/**
 * {@code twobp simulate}: generate (or load) a schedule, validate it, simulate it without
 * hardware and show its timeline; or compare every schedule ({@code --compare}). See
 * {@code --help}. Exit status 0 done, 1 invalid schedule or file, 2 usage error.
 */
public final class SimulateMain {
    private SimulateMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command; returns the exit status instead of exiting, for tests and the launcher. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        SimulateArguments a;
        try {
            a = SimulateArguments.parse(args);
        } catch (SimulateArguments.UsageError e) {
            err.println("twobp simulate: " + e.getMessage());
            err.println("Run 'twobp simulate --help' for the options.");
            return 2;
        }
        if (a.help) {
            out.print(SimulateArguments.USAGE);
            return 0;
        }
        try {
            CostModel costs = a.costModel();
            LinkModel link = a.link();
            int stashCap = a.stashCap != null ? a.stashCap : a.stages;
            if (a.compare) {
                out.print(CompareTable.render(a.stages, a.microbatches, a.chunks, stashCap, a.memoryCap, costs, link));
                return 0;
            }
            if (a.sweepCap) {
                out.print(capSweep(a, costs, link));
                return 0;
            }
            Simulator simulator = new Simulator(costs, link);
            Schedule fused;
            Schedule split;
            if (a.load != null) {
                Schedule loaded = ScheduleValidator.validate(Lowering.lowered(ScheduleCsv.read(a.load)));
                split = loaded.usesTwoBp() ? loaded : null;
                fused = loaded.usesTwoBp()
                        ? Lowering.addCommunication(Lowering.fuseBackward(Lowering.computeOnly(loaded))
                                .renamed(loaded.name() + " (fused backward)"))
                        : loaded;
            } else if (a.schedule.equals("auto")) {
                int m = a.microbatches != null ? a.microbatches : a.stages;
                AutoScheduler auto = new AutoScheduler(costs, link, a.memoryCap);
                AutoScheduler.Result withTwoBp = auto.schedule(a.stages, m, true);
                AutoScheduler.Result without = auto.schedule(a.stages, m, false);
                split = withTwoBp.schedule();
                fused = without.schedule();
                out.println("auto chose: " + (a.twoBp ? withTwoBp : without).origin() + " ("
                        + (a.twoBp ? withTwoBp : without).candidates() + " candidates simulated)");
            } else {
                ScheduleFamily family = ScheduleFamily.byName(a.schedule);
                int m = a.microbatches != null ? a.microbatches : family.presetMicrobatches(a.stages);
                split = family.build(a.stages, m, true, a.chunks, stashCap);
                fused = family.build(a.stages, m, false, a.chunks, stashCap);
            }
            Schedule chosen = a.twoBp && split != null ? split : fused;
            SimulationResult result = simulator.run(chosen);
            out.println(chosen.name() + ": " + chosen.ranks() + " ranks, " + chosen.stages() + " stages, "
                    + chosen.microbatches() + " micro-batches; costs " + costs);
            out.print(AsciiTimeline.render(result, a.width));
            out.println(AsciiTimeline.LEGEND);
            out.println(AsciiTimeline.summary(result));
            out.print(AsciiTimeline.perRank(result));
            if (split != null && fused != null && split != fused) {
                double without = simulator.run(fused).makespan();
                double with = simulator.run(split).makespan();
                out.printf(Locale.ROOT, "2BP speed-up: %s -> %s = %.2fx%n", AsciiTimeline.number(without),
                        AsciiTimeline.number(with), without / with);
            }
            if (a.csv != null) {
                ScheduleCsv.write(Lowering.computeOnly(chosen), a.csv);
                out.println("wrote " + a.csv);
            }
            if (a.png != null) {
                List<TimelinePng.Panel> panels = new ArrayList<>();
                panels.add(new TimelinePng.Panel("without 2BP: " + fused.name(), simulator.run(fused)));
                if (split != null && split != fused) {
                    panels.add(new TimelinePng.Panel("with 2BP: " + split.name(), simulator.run(split)));
                }
                TimelinePng.write(a.png, chosen.ranks() + " ranks, " + chosen.microbatches()
                        + " micro-batches, costs " + costs, panels);
                out.println("wrote " + a.png);
            }
            return 0;
        } catch (ScheduleException e) {
            err.println("twobp simulate: " + e.getMessage());
            return 1;
        }
    }

    /** The memory/throughput trade-off of the capped 2BP 1F1B: one line per cap. */
    private static String capSweep(SimulateArguments a, CostModel costs, LinkModel link) {
        Simulator simulator = new Simulator(costs, link);
        int m = a.microbatches != null ? a.microbatches : ScheduleFamily.CAPPED.presetMicrobatches(a.stages);
        StringBuilder sb = new StringBuilder();
        sb.append("1F1B + 2BP with a cap on live stashes; P = ").append(a.stages).append(", M = ").append(m)
                .append(", costs ").append(costs).append('\n');
        sb.append(String.format(Locale.ROOT, "%5s  %9s  %12s  %10s  %9s%n", "cap", "makespan", "bubble ratio",
                "peak stash", "p2 calls"));
        SimulationResult fused = simulator.run(ScheduleFamily.ONE_F_ONE_B_1.build(a.stages, m, false, 1, 0));
        sb.append(String.format(Locale.ROOT, "%5s  %9s  %11.1f%%  %10s  %9s%n", "no2BP",
                AsciiTimeline.number(fused.makespan()), 100 * fused.bubbleRatio(),
                AsciiTimeline.number(fused.maxPeakStash()), "-"));
        for (int cap = 1; cap <= m; cap++) {
            Schedule s = ScheduleFamily.CAPPED.build(a.stages, m, true, 1, cap);
            SimulationResult r = simulator.run(s);
            long calls = s.allActions().stream().flatMap(List::stream).filter(x -> x.kind() == ActionKind.W).count();
            sb.append(String.format(Locale.ROOT, "%5d  %9s  %11.1f%%  %10s  %9d%n", cap,
                    AsciiTimeline.number(r.makespan()), 100 * r.bubbleRatio(), AsciiTimeline.number(r.maxPeakStash()),
                    calls));
        }
        return sb.toString();
    }
}
