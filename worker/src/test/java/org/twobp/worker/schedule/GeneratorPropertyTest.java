package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.twobp.worker.schedule.gen.ScheduleFamily;

/**
 * Every generator, with and without 2BP, passes the validator for P in 1..8 and M in P..4P.
 * Interleaved 1F1B needs M to be a multiple of P, so only that subset is tested for it (with V = 2
 * and V = 3); every other family takes any M. The capped 1F1B is tested with caps 1..P+1.
 */
class GeneratorPropertyTest {
    @Test
    void everyGeneratorIsValidOverTheGrid() {
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (ScheduleFamily family : ScheduleFamily.values()) {
            for (int ranks = 1; ranks <= 8; ranks++) {
                for (int microbatches = ranks; microbatches <= 4 * ranks; microbatches++) {
                    for (int variant : variants(family, ranks)) {
                        int chunks = family == ScheduleFamily.INTERLEAVED ? variant : 1;
                        int cap = family == ScheduleFamily.CAPPED ? variant : 0;
                        if (family.constraint(ranks, microbatches, chunks) != null) {
                            continue;
                        }
                        for (boolean twoBp : new boolean[] {false, true}) {
                            checked++;
                            try {
                                Schedule s = family.build(ranks, microbatches, twoBp, chunks, cap);
                                assertEquals(twoBp, s.usesTwoBp() || ranks * microbatches == 0);
                            } catch (ScheduleException e) {
                                failures.add(family + " P=" + ranks + " M=" + microbatches + " variant=" + variant
                                        + " 2BP=" + twoBp + ": " + e.getMessage());
                            }
                        }
                    }
                }
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + checked + " schedules are invalid; first:\n" + failures.get(0));
        }
        assertTrue(checked > 3000, "the sweep covered " + checked + " schedules");
    }

    private static int[] variants(ScheduleFamily family, int ranks) {
        if (family == ScheduleFamily.INTERLEAVED) {
            return new int[] {2, 3};
        }
        if (family == ScheduleFamily.CAPPED) {
            int[] caps = new int[ranks + 1];
            for (int c = 1; c <= ranks + 1; c++) {
                caps[c - 1] = c;
            }
            return caps;
        }
        return new int[] {0};
    }
}
