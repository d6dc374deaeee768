package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;

/**
 * PAPER.md's idealised makespans: F = p1 = p2 = 1, fused backward 2 with the upstream send after
 * both halves, a p2 over k micro-batches costs k, no communication cost.
 */
class IdealisedTableTest {
    @ParameterizedTest(name = "P={0} {1} M={2}: {3} -> {4}")
    @CsvSource({
        "4, naive,  1, 12,  9",
        "4, gpipe,  4, 21, 18",
        "4, 1f1b-1, 4, 21, 15",
        "4, 1f1b-2, 8, 33, 27",
        "2, 1f1b-1, 2,  9,  7",
        "8, 1f1b-1, 8, 45, 31",
    })
    void makespansMatchThePaper(int ranks, String schedule, int microbatches, double withoutTwoBp, double withTwoBp) {
        ScheduleFamily family = ScheduleFamily.byName(schedule);
        assertEquals(microbatches, family.presetMicrobatches(ranks), "the paper's M for " + schedule);
        SimulationResult fused = Simulator.idealised().run(family.build(ranks, microbatches, false, 1, 0));
        SimulationResult split = Simulator.idealised().run(family.build(ranks, microbatches, true, 1, 0));
        assertEquals(withoutTwoBp, fused.makespan(), 1e-9, () -> "without 2BP\n" + fused.schedule());
        assertEquals(withTwoBp, split.makespan(), 1e-9, () -> "with 2BP\n" + split.schedule());
    }
}
