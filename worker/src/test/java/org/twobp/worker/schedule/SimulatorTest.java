package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.sim.ConcatModel;
import org.twobp.worker.schedule.sim.CostModel;
import org.twobp.worker.schedule.sim.LinkModel;
import org.twobp.worker.schedule.sim.MeasuredCost;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;
import org.twobp.worker.schedule.sim.TimedAction;

class SimulatorTest {
    private static final double EPS = 1e-9;

    @Test
    void transfersDelayTheConsumer() {
        Schedule naive = ScheduleFamily.NAIVE.build(2, 1, false, 1, 0);
        // F 1 + transfer 0.5 + F 1 + B 2 + transfer 0.5 + B 2
        assertEquals(7, new Simulator(CostModel.paperIdealised(), LinkModel.fixed(0.5)).run(naive).makespan(), EPS);
        CostModel bytes = CostModel.paperIdealised().withMessageBytes(2e6);
        LinkModel link = new LinkModel(0.25, 1e6);
        assertEquals(6 + 2 * 2.25, new Simulator(bytes, link).run(naive).makespan(), EPS);
    }

    @Test
    void timelineHasStartAndEndOfEveryAction() {
        SimulationResult r = Simulator.idealised().run(ScheduleFamily.GPIPE.build(2, 2, true, 1, 0));
        List<TimedAction> rank1 = r.timeline().get(1);
        TimedAction firstForward = rank1.stream().filter(t -> t.action().equals(Action.forward(1, 0)))
                .findFirst().orElseThrow();
        assertEquals(1, firstForward.start(), EPS);
        assertEquals(2, firstForward.end(), EPS);
        TimedAction p2 = rank1.stream().filter(t -> t.action().kind() == ActionKind.W).findFirst().orElseThrow();
        assertEquals(2, p2.duration(), EPS, "a concatenated p2 over 2 micro-batches costs 2 in the paper's model");
        assertEquals(8, r.makespan(), EPS);
        assertEquals(2 * 8 - 2 * 6, r.totalIdle(), EPS);
        assertEquals(r.totalIdle() / 16, r.bubbleRatio(), EPS);
    }

    @Test
    void concatenationModels() {
        Schedule gpipe = ScheduleFamily.GPIPE.build(1, 4, true, 1, 0);
        CostModel overhead = CostModel.uniform(1, 1, 1).withConcat(ConcatModel.perCallOverhead(0.5));
        // 4 F + 4 I + one p2 over 4 micro-batches: 0.5 + 0.5 * 4
        assertEquals(8 + 2.5, new Simulator(overhead, LinkModel.free()).run(gpipe).makespan(), EPS);
        ConcatModel measured = ConcatModel.measured(new double[] {1, 1.5, 2});
        assertEquals(2, measured.factor(3), EPS);
        assertEquals(2 + 2.0 / 3, measured.factor(4), EPS);
    }

    @Test
    void perStageCostsAndFusedBackward() {
        CostModel costs = CostModel.parse("f=1:2,i=1:2,w=1:2,b=1.5:3");
        Schedule naive = ScheduleFamily.NAIVE.build(2, 1, false, 1, 0);
        assertEquals(1 + 2 + 3 + 1.5, new Simulator(costs, LinkModel.free()).run(naive).makespan(), EPS);
        // V = 2 chunks per rank: each chunk costs half of its rank's part.
        Schedule zbv = ScheduleFamily.ZB_V.build(2, 3, true, 1, 0);
        SimulationResult r = new Simulator(CostModel.uniform(2, 2, 2), LinkModel.free()).run(zbv);
        assertEquals(3 * 3 * 2, r.busy()[0], EPS);
    }

    @Test
    void measuredCostsDriveTheSimulation() {
        List<MeasuredCost> log = List.of(
                new MeasuredCost(0, 2, ActionKind.F, 1, 1.0), new MeasuredCost(0, 2, ActionKind.F, 1, 1.2),
                new MeasuredCost(1, 2, ActionKind.F, 1, 2.0),
                new MeasuredCost(0, 2, ActionKind.I, 1, 1.0), new MeasuredCost(1, 2, ActionKind.I, 1, 2.0),
                new MeasuredCost(0, 2, ActionKind.W, 1, 0.5), new MeasuredCost(1, 2, ActionKind.W, 1, 1.0),
                new MeasuredCost(0, 2, ActionKind.W, 2, 0.8), new MeasuredCost(1, 2, ActionKind.W, 2, 1.6),
                new MeasuredCost(0, 2, ActionKind.B, 1, 1.4), new MeasuredCost(1, 2, ActionKind.B, 1, 2.8));
        CostModel costs = CostModel.fromMeasurements(log);
        assertEquals(1.1, costs.duration(ActionKind.F, 0, 2, 1, 1), EPS);
        assertEquals(1.4, costs.duration(ActionKind.B, 0, 2, 1, 1), EPS);
        assertEquals(1.6, costs.duration(ActionKind.W, 1, 2, 1, 2), EPS);
        assertEquals(1.6, costs.concat().factor(2), EPS);
        SimulationResult r = new Simulator(costs, LinkModel.free())
                .run(ScheduleFamily.NAIVE.build(2, 1, false, 1, 0));
        assertEquals(1.1 + 2 + 2.8 + 1.4, r.makespan(), EPS);
    }

    @Test
    void peakStashCountsMicrobatchesUntilTheirLastBackwardPiece() {
        SimulationResult gpipe = Simulator.idealised().run(ScheduleFamily.GPIPE.build(3, 6, true, 1, 0));
        assertArrayEquals(new double[] {6, 6, 6}, gpipe.peakStashMicrobatches(), EPS);
        CostModel bytes = CostModel.paperIdealised().withStashBytes(1e9);
        SimulationResult oneFOneB = new Simulator(bytes, LinkModel.free())
                .run(ScheduleFamily.ONE_F_ONE_B_1.build(3, 6, false, 1, 0));
        assertArrayEquals(new double[] {3e9, 2e9, 1e9}, oneFOneB.peakStashBytes(), 1);
        SimulationResult zbv = Simulator.idealised().run(ScheduleFamily.ZB_V.build(3, 6, true, 1, 0));
        assertEquals(0, zbv.maxPeakStash() * 2 % 1, EPS, "a V chunk counts half a micro-batch");
    }

    @Test
    void deadlockIsReportedWithTheStuckCells() {
        Schedule crossed = new Schedule("crossed", Placement.oneStagePerRank(2), 2, List.of(
                List.of(Action.forward(0, 0), Action.fusedBackward(0, 0), Action.forward(0, 1),
                        Action.fusedBackward(0, 1)),
                List.of(Action.forward(1, 0), Action.forward(1, 1), Action.fusedBackward(1, 0),
                        Action.fusedBackward(1, 1))));
        ScheduleException e = assertThrows(ScheduleException.class, () -> Simulator.idealised().run(crossed));
        assertTrue(e.getMessage().contains("deadlocks"), e.getMessage());
        assertTrue(e.getMessage().contains("rank 1, slot"), e.getMessage());
    }

    @Test
    void costsMustFitTheSchedule() {
        CostModel three = CostModel.parse("f=1:1:1");
        assertThrows(ScheduleException.class, () -> new Simulator(three, LinkModel.free())
                .run(ScheduleFamily.GPIPE.build(4, 4, true, 1, 0)));
        assertThrows(ScheduleException.class, () -> CostModel.parse("f=1,x=2"));
        assertThrows(ScheduleException.class, () -> new LinkModel(-1, 1));
    }
}
