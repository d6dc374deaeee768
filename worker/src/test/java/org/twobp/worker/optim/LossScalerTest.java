package org.twobp.worker.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LossScalerTest {

    @Test
    void withoutFloat16NothingIsScaledOrSkipped() {
        LossScaler s = LossScaler.forPrecision("bf16", 0);
        assertFalse(s.isDynamic());
        assertTrue(s.update(Double.POSITIVE_INFINITY), "a fixed scale never skips: overflow is a real error there");
        assertEquals(1f, s.scale());
    }

    @Test
    void overflowHalvesAndSkipsGoodStepsDoubleAfterTheInterval() {
        LossScaler s = LossScaler.forPrecision("fp16", 0);
        assertEquals(LossScaler.INITIAL_SCALE, s.scale());
        assertFalse(s.update(Double.NaN));
        assertFalse(s.update(Double.POSITIVE_INFINITY));
        assertEquals(LossScaler.INITIAL_SCALE / 4, s.scale());
        assertEquals(2, s.skipped());
        for (int i = 0; i < LossScaler.GROWTH_INTERVAL - 1; i++) {
            assertTrue(s.update(1.0));
        }
        assertEquals(LossScaler.INITIAL_SCALE / 4, s.scale(), "not yet");
        assertTrue(s.update(1.0));
        assertEquals(LossScaler.INITIAL_SCALE / 2, s.scale(), "doubled after " + LossScaler.GROWTH_INTERVAL + " good steps");
        assertEquals(0, s.goodSteps());
        s.restore(8f, 17);
        assertEquals(8f, s.scale());
        assertEquals(17, s.goodSteps());
        LossScaler one = LossScaler.dynamic(1f);
        assertFalse(one.update(Double.NaN));
        assertEquals(1f, one.scale(), "never below 1");
        assertThrows(IllegalArgumentException.class, () -> LossScaler.dynamic(0.5f));
    }
}
