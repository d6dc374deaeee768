package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.twobp.worker.schedule.auto.AutoScheduler;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.sim.ConcatModel;
import org.twobp.worker.schedule.sim.CostModel;
import org.twobp.worker.schedule.sim.LinkModel;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;

/**
 * The automatic scheduler against answers it does not compute itself. That it is never worse
 * than the hand-written schedules follows from their being among its candidates, so that check
 * cannot fail for a poor greedy search. The exhaustive search below can: on problems small enough
 * to try every order of every rank's F, p1 and p2 (one stage per rank), the scheduler must match
 * or beat the best order found, and where its greedy search beat every hand-written schedule it
 * must keep doing so.
 */
class AutoSchedulerTest {
    private static final double[] RATIOS = {0.25, 0.5, 1, 2};
    private static final double EPS = 1e-9;

    /**
     * Every order of one stage's forwards, p1 and p2 over {@code m} micro-batches in which each
     * kind runs its micro-batches in order and a micro-batch's F precedes its p1, which precedes
     * its p2 (m = 2: 5 orders, m = 3: 42). With micro-batches of equal cost these include every
     * hand-written one-stage-per-rank schedule; a fused backward is a p1 directly followed by its p2.
     */
    static List<List<Action>> stageOrders(int stage, int m) {
        List<List<Action>> out = new ArrayList<>();
        extend(stage, m, 0, 0, 0, new ArrayList<>(), out);
        return out;
    }

    private static void extend(int stage, int m, int f, int i, int w, List<Action> prefix, List<List<Action>> out) {
        if (w == m) {
            out.add(List.copyOf(prefix));
            return;
        }
        Action[] next = {f < m ? Action.forward(stage, f) : null, i < f ? Action.backwardInput(stage, i) : null,
                w < i ? Action.backwardWeight(stage, w) : null};
        for (int k = 0; k < 3; k++) {
            if (next[k] != null) {
                prefix.add(next[k]);
                extend(stage, m, f + (k == 0 ? 1 : 0), i + (k == 1 ? 1 : 0), w + (k == 2 ? 1 : 0), prefix, out);
                prefix.remove(prefix.size() - 1);
            }
        }
    }

    /**
     * The shortest makespan of any combination of per-rank orders whose peak stash fits
     * {@code cap}: every rank's list from {@link #stageOrders}, simulated one by one (orders that
     * deadlock are skipped).
     */
    static double exhaustiveBest(Simulator simulator, int ranks, int m, double cap) {
        List<List<List<Action>>> orders = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            orders.add(stageOrders(r, m));
        }
        int[] pick = new int[ranks];
        double best = Double.POSITIVE_INFINITY;
        while (true) {
            List<List<Action>> lists = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                lists.add(orders.get(r).get(pick[r]));
            }
            try {
                SimulationResult result = simulator.run(new Schedule("exhaustive", Placement.oneStagePerRank(ranks), m,
                        lists));
                if (result.maxPeakStash() <= cap + EPS) {
                    best = Math.min(best, result.makespan());
                }
            } catch (ScheduleException deadlock) {
                // this combination waits in a cycle; others do not
            }
            int r = 0;
            while (r < ranks && ++pick[r] == orders.get(r).size()) {
                pick[r++] = 0;
            }
            if (r == ranks) {
                return best;
            }
        }
    }

    /**
     * Problems small enough to search exhaustively (5^4 or 42^2 combinations at most): ranks,
     * micro-batches, F, p1 and p2 per stage (one value: every stage alike), link time, stash cap,
     * and whether the greedy search must beat every hand-written schedule there. Where it must, it
     * wins with a V-shaped order (two half-stage chunks per rank), which the one-stage-per-rank
     * search cannot express, so the result lies below the exhaustive one. With a slow link (2 or 3
     * x F) a V's extra crossings cost more than its shorter fill, and the best order of one stage
     * per rank is the answer: the scheduler must find exactly it.
     */
    static Stream<Arguments> smallProblems() {
        double inf = Double.POSITIVE_INFINITY;
        return Stream.of(
                Arguments.of(2, 2, new double[] {1}, new double[] {1}, new double[] {1}, 0.0, inf, false),
                Arguments.of(2, 3, new double[] {1}, new double[] {1}, new double[] {1}, 0.0, inf, false),
                Arguments.of(2, 3, new double[] {1}, new double[] {1}, new double[] {1}, 0.0, 2.0, false),
                Arguments.of(2, 3, new double[] {1}, new double[] {1}, new double[] {1}, 0.0, 1.0, false),
                Arguments.of(2, 3, new double[] {1}, new double[] {1}, new double[] {1}, 3.0, inf, false),
                Arguments.of(2, 3, new double[] {1}, new double[] {2}, new double[] {0.5}, 0.1, inf, true),
                Arguments.of(2, 3, new double[] {1, 2}, new double[] {1, 2}, new double[] {2, 0.5}, 0.0, inf, true),
                Arguments.of(2, 3, new double[] {1, 2}, new double[] {1, 2}, new double[] {2, 0.5}, 2.0, inf, true),
                Arguments.of(3, 2, new double[] {1}, new double[] {1}, new double[] {1}, 0.0, inf, true),
                Arguments.of(3, 2, new double[] {1}, new double[] {1}, new double[] {1}, 2.0, inf, false),
                Arguments.of(3, 2, new double[] {2, 1, 1}, new double[] {2, 1, 1}, new double[] {0.25, 1, 2}, 0.1, inf,
                        true),
                Arguments.of(4, 2, new double[] {1}, new double[] {1}, new double[] {0.25}, 0.0, inf, true),
                Arguments.of(4, 2, new double[] {1}, new double[] {1}, new double[] {0.25}, 2.0, inf, false));
    }

    @ParameterizedTest(name = "P={0} M={1} F={2} I={3} W={4} link={5} cap={6}")
    @MethodSource("smallProblems")
    void matchesOrBeatsTheBestOrderAnExhaustiveSearchFinds(int ranks, int m, double[] f, double[] i, double[] w,
                                                            double comm, double cap, boolean greedyMustWin) {
        CostModel costs = CostModel.perStage(expand(f, ranks), expand(i, ranks), expand(w, ranks));
        LinkModel link = LinkModel.fixed(comm);
        Simulator simulator = new Simulator(costs, link);
        double exhaustive = exhaustiveBest(simulator, ranks, m, cap);
        double hand = bestHandWritten(simulator, ranks, m, cap);
        AutoScheduler.Result auto = new AutoScheduler(costs, link, cap).schedule(ranks, m, true);
        double found = auto.simulation().makespan();
        String where = "P=" + ranks + " M=" + m + " F=" + Arrays.toString(f) + " I="
                + Arrays.toString(i) + " W=" + Arrays.toString(w) + " link=" + comm + " cap=" + cap
                + ": auto " + found + " (" + auto.origin() + ")";
        System.out.printf("auto P=%d M=%d link %.1f cap %.0f: exhaustive (one stage per rank) %.3f, best hand-written"
                + " %.3f, auto %.3f by %s%n", ranks, m, comm, cap, exhaustive, hand, found, auto.origin());
        assertTrue(found <= exhaustive + EPS, where + " is longer than " + exhaustive + ", the best of every order"
                + " an exhaustive search tried");
        assertTrue(auto.simulation().maxPeakStash() <= cap + EPS, where + ": peak stash "
                + auto.simulation().maxPeakStash() + " over the cap " + cap);
        if (greedyMustWin) {
            assertTrue(found < hand - EPS, where + " is no better than the best hand-written schedule (" + hand
                    + "); the greedy search found shorter ones here before");
        }
    }

    private static double[] expand(double[] v, int ranks) {
        if (v.length == ranks) {
            return v;
        }
        double[] out = new double[ranks];
        Arrays.fill(out, v[0]);
        return out;
    }

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
