package org.twobp.worker.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FastExpTest {

    @Test
    void expIsWithinTwoUlpOverTheNormalRange() {
        SplittableRandom rng = new SplittableRandom(1);
        double worst = 0;
        for (int i = 0; i < 1_000_000; i++) {
            float x = (float) (rng.nextDouble() * 175 - 87);
            double want = Math.exp(x);
            double got = FastExp.exp(x);
            worst = Math.max(worst, Math.abs(got - want) / want);
        }
        assertTrue(worst < 2 * Math.ulp(1f), "max relative error " + worst);
        assertEquals(1f, FastExp.exp(0f));
        assertEquals(0f, FastExp.exp(-1000f), 1e-37);
        assertTrue(Float.isFinite(FastExp.exp(1000f)));
    }

    @Test
    void sigmoidAndTanhAreAccurateInAbsoluteTerms() {
        for (float x = -30f; x <= 30f; x += 0.01f) {
            assertEquals(1.0 / (1.0 + Math.exp(-x)), FastExp.sigmoid(x), 2e-7, "sigmoid(" + x + ")");
            assertEquals(Math.tanh(x), FastExp.tanh(x), 3e-7, "tanh(" + x + ")");
        }
    }
}
