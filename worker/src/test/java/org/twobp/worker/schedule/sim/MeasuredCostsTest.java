package org.twobp.worker.schedule.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.MicroBatches;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.ScheduleException;
import org.twobp.worker.schedule.gen.ScheduleFamily;

/**
 * A replay of measured action times reproduces those times: every action lasts exactly what it
 * was measured to last, a concatenated p2 included, and nothing stands in for a missing one.
 */
public class MeasuredCostsTest {
    private static final double EPS = 1e-12;

    @Test
    void replayOfAOneRankTraceGivesTheMeasuredMakespan() {
        Schedule gpipe = ScheduleFamily.GPIPE.build(1, 4, true, 1, 0);
        Map<Action, Double> times = new HashMap<>();
        double sum = 0;
        for (Action a : gpipe.actions(0)) {
            // distinct times per action; the p2 over all four micro-batches is not 4 x anything
            double s = switch (a.kind()) {
                case F -> 0.11 + 0.01 * a.microbatch();
                case I -> 0.23 + 0.02 * a.microbatch();
                case W -> 0.37;
                case STEP -> 0.05;
                default -> throw new AssertionError(a);
            };
            times.put(a, s);
            sum += s;
        }
        SimulationResult r = new Simulator(MeasuredCosts.of(gpipe, List.of(times)), LinkModel.free()).run(gpipe);
        assertEquals(sum, r.makespan(), EPS, "one rank runs its measured actions back to back");
        for (TimedAction t : r.timeline().get(0)) {
            assertEquals(times.get(t.action()), t.duration(), EPS, gpipe.text(t.action()));
        }
        assertEquals(0, r.totalIdle(), EPS);
    }

    /**
     * 1F1B-1 on two ranks: the last stage runs p2 only as W[0-1]. The replay uses that call's own
     * time; by hand (link 0.05 s from a send's start to its arrival):
     * rank 1: F0 1.05-2.55, I0 -3.75, SEND_B0 -3.77, F1 -5.27, I1 -6.47, SEND_B1 -6.49, W[0-1] -7.39, STEP -7.69;
     * rank 0: F0 0-1, SEND_F0 -1.01, F1 -2.01, SEND_F1 -2.02, I0 3.80-4.80, W0 -5.30, I1 6.52-7.52, W1 -8.02,
     * STEP -8.22.
     */
    @Test
    void aConcatenatedP2CostsItsOwnMeasuredTime() {
        Schedule s = ScheduleFamily.ONE_F_ONE_B_1.build(2, 2, true, 1, 0);
        MeasuredCosts costs = MeasuredCosts.of(s, oneFOneBTimes());
        SimulationResult r = new Simulator(costs, LinkModel.fixed(0.05)).run(s);
        TimedAction w = r.timeline().get(1).stream().filter(t -> t.action().kind() == ActionKind.W)
                .findFirst().orElseThrow();
        assertEquals(MicroBatches.range(0, 1), w.action().microbatches());
        assertEquals(0.9, w.duration(), EPS, "W[0-1] lasts what W[0-1] took, not 2 x a one-micro-batch p2");
        assertEquals(6.49, w.start(), 1e-9);
        assertEquals(8.22, r.makespan(), 1e-9);
    }

    /**
     * A rank's set-up before its first action is measured time too: rank 0's 0.1 s delays the
     * whole pipeline, rank 1's 0.5 s passes while it waits for its first activation anyway.
     */
    @Test
    void setUpBeforeTheFirstActionDelaysWhatDependsOnIt() {
        Schedule s = ScheduleFamily.ONE_F_ONE_B_1.build(2, 2, true, 1, 0);
        SimulationResult r = new Simulator(MeasuredCosts.of(s, oneFOneBTimes(), new double[] {0.1, 0.5}),
                LinkModel.fixed(0.05)).run(s);
        assertEquals(0.1, r.timeline().get(0).get(0).start(), 1e-9);
        assertEquals(8.22 + 0.1, r.makespan(), 1e-9);
        assertThrows(ScheduleException.class, () -> MeasuredCosts.of(s, oneFOneBTimes(), new double[] {0.1}));
    }

    /** Measured times of 1F1B-1 + 2BP on two ranks, by rank; the last stage has only W[0-1]. */
    public static List<Map<Action, Double>> oneFOneBTimes() {
        Map<String, Double> rank0 = Map.of("F0", 1.0, "SEND_F0", 0.01, "F1", 1.0, "SEND_F1", 0.01, "I0", 1.0,
                "W0", 0.5, "I1", 1.0, "W1", 0.5, "STEP", 0.2);
        Map<String, Double> rank1 = Map.of("F0", 1.5, "I0", 1.2, "SEND_B0", 0.02, "F1", 1.5, "I1", 1.2,
                "SEND_B1", 0.02, "W[0-1]", 0.9, "STEP", 0.3);
        Schedule s = ScheduleFamily.ONE_F_ONE_B_1.build(2, 2, true, 1, 0);
        List<Map<Action, Double>> out = new ArrayList<>();
        for (Map<String, Double> byText : List.of(rank0, rank1)) {
            int rank = out.size();
            Map<Action, Double> times = new HashMap<>();
            for (Action a : s.actions(rank)) {
                if (!a.kind().isReceive()) {
                    Double t = byText.get(s.text(a));
                    if (t == null) {
                        throw new AssertionError("test data lacks " + s.text(a) + " on rank " + rank);
                    }
                    times.put(a, t);
                }
            }
            out.add(times);
        }
        return out;
    }

    @Test
    void aMissingActionIsAnErrorNotAnEstimate() {
        Schedule s = ScheduleFamily.ONE_F_ONE_B_1.build(2, 2, true, 1, 0);
        List<Map<Action, Double>> times = oneFOneBTimes();
        times.get(1).remove(Action.backwardWeight(1, MicroBatches.range(0, 1)));
        ScheduleException e = assertThrows(ScheduleException.class, () -> MeasuredCosts.of(s, times));
        assertTrue(e.getMessage().contains("no measured time for W[0-1]"), e.getMessage());
        assertTrue(e.getMessage().contains("rank 1"), e.getMessage());
    }

    @Test
    void costsReplayOnlyTheScheduleTheyWereMeasuredWith() {
        Schedule s = ScheduleFamily.ONE_F_ONE_B_1.build(2, 2, true, 1, 0);
        Simulator replay = new Simulator(MeasuredCosts.of(s, oneFOneBTimes()), LinkModel.free());
        ScheduleException e = assertThrows(ScheduleException.class,
                () -> replay.run(ScheduleFamily.GPIPE.build(2, 2, true, 1, 0)));
        assertTrue(e.getMessage().contains("simulate the schedule that was measured"), e.getMessage());
    }

    @Test
    void medianIgnoresOneDisturbedStep() {
        assertEquals(1.0, MeasuredCosts.median(new double[] {1.0, 9.0, 0.9, 1.1, 1.0}), EPS);
        assertEquals(1.5, MeasuredCosts.median(new double[] {2, 1}), EPS);
    }

    /** Per-stage costs for the automatic scheduler: p2 is never derived from B / 2 or from a concatenated call. */
    @Test
    void perStageCostsRefuseToInventAOneMicroBatchP2() {
        List<MeasuredCost> log = List.of(
                new MeasuredCost(0, 2, ActionKind.F, 1, 1.0), new MeasuredCost(1, 2, ActionKind.F, 1, 1.5),
                new MeasuredCost(0, 2, ActionKind.I, 1, 1.0), new MeasuredCost(1, 2, ActionKind.I, 1, 1.2),
                new MeasuredCost(0, 2, ActionKind.W, 1, 0.5), new MeasuredCost(1, 2, ActionKind.W, 2, 0.9),
                new MeasuredCost(0, 2, ActionKind.B, 1, 1.4), new MeasuredCost(1, 2, ActionKind.B, 1, 1.7));
        ScheduleException e = assertThrows(ScheduleException.class, () -> CostModel.fromMeasurements(log));
        assertTrue(e.getMessage().contains("p2 (W) of one micro-batch on stage 1"), e.getMessage());
    }
}
