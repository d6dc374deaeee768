package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.twobp.worker.schedule.auto.AutoScheduler;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.sim.ConcatModel;
import org.twobp.worker.schedule.sim.CostModel;
import org.twobp.worker.schedule.sim.LinkModel;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;

class AutoSchedulerTest {
    private static final double[] RATIOS = {0.25, 0.5, 1, 2};

    /** Best makespan among all hand-written schedules (both forms) whose peak stash fits the cap. */
    private static double bestHandWritten(Simulator simulator, int ranks, int microbatches, double cap) {
        double best = Double.POSITIVE_INFINITY;
        for (ScheduleFamily family : ScheduleFamily.values()) {
            int[] variants = family == ScheduleFamily.CAPPED ? new int[] {ranks, microbatches}
                    : family == ScheduleFamily.INTERLEAVED ? new int[] {2} : new int[] {0};
            for (int variant : variants) {
                int chunks = family == ScheduleFamily.INTERLEAVED ? variant : 1;
                if (family.constraint(ranks, microbatches, chunks) != null) {
                    continue;
                }
                for (boolean twoBp : new boolean[] {false, true}) {
                    SimulationResult r = simulator.run(family.build(ranks, microbatches, twoBp, chunks, variant));
                    if (r.maxPeakStash() <= cap + 1e-9) {
                        best = Math.min(best, r.makespan());
                    }
                }
            }
        }
        return best;
    }

    @Test
    void neverWorseThanTheBestHandWrittenScheduleOverASweepOfCostRatios() {
        List<String> lines = new ArrayList<>();
        for (int ranks : new int[] {2, 4}) {
            for (int microbatches : new int[] {ranks, 2 * ranks}) {
                for (double wOverF : RATIOS) {
                    for (double iOverF : new double[] {1, 2}) {
                        for (double comm : new double[] {0, 0.1}) {
                            for (double cap : new double[] {ranks, Double.POSITIVE_INFINITY}) {
                                CostModel costs = CostModel.uniform(1, iOverF, wOverF);
                                LinkModel link = LinkModel.fixed(comm);
                                Simulator simulator = new Simulator(costs, link);
                                AutoScheduler.Result auto = new AutoScheduler(costs, link, cap)
                                        .schedule(ranks, microbatches, true);
                                double hand = bestHandWritten(simulator, ranks, microbatches, cap);
                                String where = "P=" + ranks + " M=" + microbatches + " w/f=" + wOverF + " i/f="
                                        + iOverF + " comm=" + comm + " cap=" + cap;
                                assertTrue(auto.simulation().makespan() <= hand + 1e-9,
                                        where + ": auto " + auto.simulation().makespan() + " vs " + hand);
                                assertTrue(auto.simulation().maxPeakStash() <= cap + 1e-9, where);
                                assertTrue(ScheduleValidator.problems(auto.schedule()).isEmpty(), where);
                                if (auto.simulation().makespan() < hand - 1e-9) {
                                    lines.add(where + ": auto " + auto.simulation().makespan() + " < " + hand
                                            + " by " + auto.origin());
                                }
                            }
                        }
                    }
                }
            }
        }
        // The greedy search has to earn its keep somewhere, not just return a hand-written seed.
        assertFalse(lines.isEmpty(), "auto never improved on a hand-written schedule");
    }

    @Test
    void beats1F1B1With2BpWhenP2IsCheap() {
        for (int ranks : new int[] {2, 4, 8}) {
            CostModel costs = CostModel.uniform(1, 1, 0.25);
            Simulator simulator = new Simulator(costs, LinkModel.free());
            SimulationResult baseline = simulator.run(ScheduleFamily.ONE_F_ONE_B_1.build(ranks, ranks, true, 1, 0));
            AutoScheduler.Result auto = new AutoScheduler(costs, LinkModel.free(), baseline.maxPeakStash())
                    .schedule(ranks, ranks, true);
            assertTrue(auto.simulation().makespan() < baseline.makespan() - 1e-9, "P=" + ranks + ": auto "
                    + auto.simulation().makespan() + " (" + auto.origin() + ") vs 1F1B-1 + 2BP "
                    + baseline.makespan());
        }
    }

    @Test
    void mergesP2CallsWhenACallHasAFixedCost() {
        CostModel costs = CostModel.uniform(1, 1, 1).withConcat(ConcatModel.perCallOverhead(0.5));
        AutoScheduler.Result auto = new AutoScheduler(costs, LinkModel.free(), Double.POSITIVE_INFINITY)
                .schedule(4, 8, true);
        long concatenated = auto.schedule().allActions().stream().flatMap(List::stream)
                .filter(a -> a.kind() == ActionKind.W && a.microbatches().size() > 1).count();
        assertTrue(concatenated > 0, "expected concatenated p2 calls:\n" + auto.schedule());
    }

    @Test
    void withoutTwoBpEveryBackwardIsFused() {
        AutoScheduler.Result auto = new AutoScheduler(CostModel.paperIdealised(), LinkModel.free(), 4)
                .schedule(4, 8, false);
        assertFalse(auto.schedule().usesTwoBp());
        // 1F1B-2 takes 33; a V-shaped order with half-stage chunks shortens the fill and drain.
        assertTrue(auto.simulation().makespan() <= 33 + 1e-9, auto.origin() + ": " + auto.simulation().makespan());
    }

    @Test
    void aCapNoScheduleMeetsIsAClearError() {
        ScheduleException e = assertThrows(ScheduleException.class,
                () -> new AutoScheduler(CostModel.paperIdealised(), LinkModel.free(), 0.25).schedule(4, 4, true));
        assertTrue(e.getMessage().contains("raise the stash cap"), e.getMessage());
    }
}
