package org.twobp.worker.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;
import org.twobp.mpi.ThreadTransport;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.sim.LinkModel;
import org.twobp.worker.schedule.sim.MeasuredCosts;
import org.twobp.worker.schedule.sim.MeasuredCostsTest;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.TimedAction;

/**
 * The bench's prediction comes from what its own run measured: each arm's schedule as the
 * trainer built it, replayed with that arm's action times.
 */
class BenchPipelineTest {
    private static final double EPS = 1e-9;

    /**
     * 1F1B-1 on two ranks, synthetic measured times. The 2BP arm's last stage ran p2 only as
     * W[0-1] (0.9 s) and its p1 took 1.2 s; fused, its backward took 2.1 s. The prediction must
     * use those, not p1 = p2 = B / 2 with a linear W[0-1] = 2 x 1.05 s.
     * Baseline by hand (link 0.05 s): rank 1 F0 1.05-2.55, B0 -4.65, SEND_B0 -4.67, F1 -6.17,
     * B1 -8.27, SEND_B1 -8.29 (arrives 8.32); rank 0 B1 8.32-9.82, STEP -10.02. The 2BP arm ends
     * at 8.22 (see {@link MeasuredCostsTest}).
     */
    @Test
    void predictionReplaysEachArmWithItsOwnMeasuredCosts() {
        Schedule baseline = ScheduleFamily.ONE_F_ONE_B_1.build(2, 2, false, 1, 0);
        Schedule twoBp = ScheduleFamily.ONE_F_ONE_B_1.build(2, 2, true, 1, 0);
        Map<String, Double> rank0 = Map.of("F0", 1.0, "SEND_F0", 0.01, "F1", 1.0, "SEND_F1", 0.01, "B0", 1.5,
                "B1", 1.5, "STEP", 0.2);
        Map<String, Double> rank1 = Map.of("F0", 1.5, "B0", 2.1, "SEND_B0", 0.02, "F1", 1.5, "B1", 2.1,
                "SEND_B1", 0.02, "STEP", 0.3);
        MeasuredArm[] pair = {
            arm(baseline, MeasuredCosts.of(baseline, List.of(byAction(baseline, 0, rank0), byAction(baseline, 1, rank1)))),
            arm(twoBp, MeasuredCosts.of(twoBp, MeasuredCostsTest.oneFOneBTimes()))};
        BenchPipeline.Row row = BenchPipeline.row("1F1B-1", pair, LinkModel.fixed(0.05));
        assertEquals(8.22, row.replays()[1][0].makespan(), EPS, "2BP arm: the last stage's p1 and W[0-1] as measured");
        assertEquals(10.02, row.replays()[0][0].makespan(), EPS, "baseline arm");
        assertEquals(10.02 / 8.22, row.predicted(), EPS);
        assertEquals(10.02 / 8.22, row.predictedFromMedians(), EPS);
    }

    /** The prediction is the median of per-step replays, each with that step's own times. */
    @Test
    void everyTimedStepIsReplayedWithItsOwnTimes() {
        Schedule gpipe = ScheduleFamily.GPIPE.build(1, 2, true, 1, 0);
        List<MeasuredCosts> steps = new java.util.ArrayList<>();
        for (double scale : new double[] {1, 3, 2}) { // a step slowed as a whole, as by a busy machine
            Map<Action, Double> times = new HashMap<>();
            for (Action a : gpipe.actions(0)) {
                times.put(a, 0.5 * scale);
            }
            steps.add(MeasuredCosts.of(gpipe, List.of(times)));
        }
        MeasuredArm arm = new MeasuredArm(gpipe, new double[] {3.1, 9.3, 6.2}, 1, 0, new long[1], steps, steps.get(0),
                null);
        BenchPipeline.Row row = BenchPipeline.row("GPipe", new MeasuredArm[] {arm, arm}, LinkModel.free());
        // F0 F1 I0 I1 W[0-1] STEP: 6 actions of 0.5 s times the step's scale
        assertEquals(List.of(3.0, 9.0, 6.0), Arrays.stream(row.makespans(0)).boxed().toList());
        assertEquals(6.0 / 6.2, row.replayedShare(0), EPS);
    }

    private static MeasuredArm arm(Schedule s, MeasuredCosts costs) {
        return new MeasuredArm(s, new double[] {1}, 1, 0, new long[s.ranks()], List.of(costs), costs, null);
    }

    private static Map<Action, Double> byAction(Schedule s, int rank, Map<String, Double> byText) {
        Map<Action, Double> out = new HashMap<>();
        for (Action a : s.actions(rank)) {
            if (!a.kind().isReceive()) {
                out.put(a, byText.get(s.text(a)));
            }
        }
        return out;
    }

    /**
     * The default bench on two thread ranks and a tiny model: every schedule the trainer knows
     * gets a row, interleaved and ZB-V are replayed with the 2 chunks and 4 stages they ran with,
     * and every replayed action lasts exactly its measured median.
     */
    @Test
    void everyScheduleIsPredictedFromItsOwnRun() {
        for (ScheduleFamily f : ScheduleFamily.values()) {
            assertTrue(BenchPipeline.DEFAULT_SCHEDULES.contains(f.cliName()), f.cliName() + " missing from the default");
        }
        RunConfig cfg = new RunConfig(PipelineEqualityTest.model(), PipelineEqualityTest.train("sgd"),
                PipelineConfig.of(Map.of()), CheckpointConfig.of(Map.of()));
        Map<Integer, BenchPipeline.Report> reports = new ConcurrentHashMap<>();
        ThreadTransport.run(2, t -> {
            t.setTimeout(Duration.ofSeconds(120));
            reports.put(t.rank(), BenchPipeline.run(t, cfg, 1, BenchPipeline.DEFAULT_SCHEDULES, false));
        });
        BenchPipeline.Report report = reports.get(0);
        assertEquals(BenchPipeline.DEFAULT_SCHEDULES, List.copyOf(report.rows().keySet()));
        for (Map.Entry<String, BenchPipeline.Row> e : report.rows().entrySet()) {
            String name = e.getKey();
            BenchPipeline.Row row = e.getValue();
            int chunks = name.equals("interleaved") || name.equals("zb-v") ? 2 : 1;
            for (int v = 0; v < 2; v++) {
                MeasuredArm arm = row.arms()[v];
                SimulationResult sim = row.medianReplays()[v];
                assertEquals(1, row.replays()[v].length, name + ": one replay per timed step");
                if (!name.equals("auto")) {
                    assertEquals(v == 1, arm.schedule().usesTwoBp(), name + " arm " + v);
                    assertEquals(chunks, arm.schedule().chunksPerRank(), name);
                    assertEquals(2 * chunks, sim.schedule().stages(), name + ": the replay has the stages that ran");
                }
                for (int r = 0; r < 2; r++) {
                    for (TimedAction ta : sim.timeline().get(r)) {
                        assertEquals(arm.costs().seconds(r, ta.action()), ta.duration(), 1e-12,
                                name + " rank " + r + " " + sim.schedule().text(ta.action()));
                    }
                }
            }
            assertTrue(row.predicted() > 0 && Double.isFinite(row.predicted()), name + ": " + row.predicted());
            assertTrue(report.table().contains(row.label().length() > 28 ? row.label().substring(0, 28) : row.label()),
                    report.table());
        }
    }
}
