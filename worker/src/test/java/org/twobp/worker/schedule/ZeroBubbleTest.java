package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;

/** The zero-bubble family's claims under equal costs (F = p1 = p2 = 1, fused B = 2). */
class ZeroBubbleTest {
    private static SimulationResult simulate(ScheduleFamily family, int ranks, int microbatches, boolean twoBp) {
        return Simulator.idealised().run(family.build(ranks, microbatches, twoBp, 1, 0));
    }

    @Test
    void zbH1BubbleIsAThirdOf1F1B() {
        for (int ranks = 2; ranks <= 8; ranks++) {
            for (int microbatches = ranks; microbatches <= 4 * ranks; microbatches++) {
                SimulationResult oneFOneB = simulate(ScheduleFamily.ONE_F_ONE_B_1, ranks, microbatches, false);
                SimulationResult zbH1 = simulate(ScheduleFamily.ZB_H1, ranks, microbatches, true);
                String where = "P=" + ranks + " M=" + microbatches;
                assertEquals(3.0 * (ranks - 1) * ranks, oneFOneB.totalIdle(), 1e-9, "1F1B idle " + where);
                assertEquals(oneFOneB.totalIdle() / 3, zbH1.totalIdle(), 1e-9, () -> "ZB-H1 idle " + where
                        + "\n" + zbH1.schedule());
                for (int r = 0; r < ranks; r++) {
                    assertEquals(ranks - 1, zbH1.idle(r), 1e-9, "ZB-H1 idle of rank " + r + " " + where);
                }
            }
        }
    }

    @Test
    void zbH2AndZbVHaveNoSteadyStateBubble() {
        for (int ranks = 1; ranks <= 8; ranks++) {
            // Both fill the pipeline only with at least 2P - 1 micro-batches in flight.
            for (int microbatches = Math.max(ranks, 2 * ranks - 1); microbatches <= 4 * ranks; microbatches++) {
                for (ScheduleFamily family : new ScheduleFamily[] {ScheduleFamily.ZB_H2, ScheduleFamily.ZB_V}) {
                    SimulationResult result = simulate(family, ranks, microbatches, true);
                    for (int r = 0; r < ranks; r++) {
                        String where = family + " P=" + ranks + " M=" + microbatches + " rank " + r;
                        assertEquals(0, result.steadyStateBubble(r), 1e-9, () -> where + "\n" + result.schedule());
                    }
                }
            }
        }
    }

    @Test
    void zbH2AndZbVNeverLoseTo1F1BAndZbVBeatsZbH1() {
        for (int ranks = 2; ranks <= 8; ranks++) {
            int microbatches = 2 * ranks;
            double zbH1 = simulate(ScheduleFamily.ZB_H1, ranks, microbatches, true).makespan();
            double zbH2 = simulate(ScheduleFamily.ZB_H2, ranks, microbatches, true).makespan();
            double zbV = simulate(ScheduleFamily.ZB_V, ranks, microbatches, true).makespan();
            // Synchronous step: every rank waits for the last p2, so ZB-H2's parallelogram ends
            // where ZB-H1 ends; ZB-V halves the fill because each chunk is half a stage.
            assertEquals(3.0 * microbatches + ranks - 1, zbH1, 1e-9);
            assertEquals(zbH1, zbH2, 1e-9);
            assertEquals(3.0 * microbatches + (ranks - 1) / 2.0, zbV, 1e-9);
        }
    }

    @Test
    void peakStashOfRankZeroIn1F1BIsP() {
        for (int ranks = 1; ranks <= 8; ranks++) {
            for (int microbatches : new int[] {ranks, 2 * ranks, 4 * ranks}) {
                SimulationResult result = simulate(ScheduleFamily.ONE_F_ONE_B_1, ranks, microbatches, false);
                assertEquals(ranks, result.peakStashMicrobatches()[0], 1e-9, "P=" + ranks + " M=" + microbatches);
                for (int r = 0; r < ranks; r++) {
                    assertEquals(ranks - r, result.peakStashMicrobatches()[r], 1e-9, "rank " + r);
                }
            }
        }
    }

    @Test
    void memoryOfTheZeroBubbleFamily() {
        for (int ranks = 2; ranks <= 8; ranks++) {
            int microbatches = 3 * ranks;
            SimulationResult zbH1 = simulate(ScheduleFamily.ZB_H1, ranks, microbatches, true);
            SimulationResult zbH2 = simulate(ScheduleFamily.ZB_H2, ranks, microbatches, true);
            SimulationResult zbV = simulate(ScheduleFamily.ZB_V, ranks, microbatches, true);
            SimulationResult twoBp = simulate(ScheduleFamily.ONE_F_ONE_B_1, ranks, microbatches, true);
            assertEquals(ranks, zbH1.maxPeakStash(), 1e-9, "ZB-H1 keeps 1F1B's P live stashes");
            // ZB counts about 2P - 1 because its p1 frees part of a micro-batch; here a stash lives
            // until its p2 ends, and the p2 that follows each forward comes one slot too late.
            assertEquals(2 * ranks, zbH2.maxPeakStash(), 1e-9, "ZB-H2 trades memory for bubble");
            assertTrue(zbV.maxPeakStash() <= ranks, "ZB-V within 1F1B memory: " + zbV.maxPeakStash());
            assertEquals(microbatches, twoBp.maxPeakStash(), 1e-9, "2BP 1F1B keeps all stashes to the end");
        }
    }
}
