package org.twobp.worker.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.twobp.worker.backend.cpu.CpuBackend;

class ParameterSetTest {

    @Test
    void parametersAreNamedSlicesOfOneBlockPerRole() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = new ParameterSet();
            Parameter a = set.declare("blocks.0.attn.wq", Parameter.Init.normal(1), true, 4, 3);
            Parameter b = set.declare("blocks.0.attn.wk", Parameter.Init.normal(1), true, 2, 3);
            Parameter g = set.declare("blocks.0.attn_norm.weight", Parameter.Init.ones(), false, 3);
            assertEquals(21, set.size());
            assertEquals(12, b.offset());
            set.bind(be.allocate(MemoryCategory.PARAMETERS, 21), be.allocateZeros(MemoryCategory.GRADIENTS, 21));
            CpuBackend.data(set.params())[set.params().offset() + 13] = 7f;
            assertEquals(7f, be.toHost(b.value())[1], "a named view reads the block");
            assertEquals(7f, be.toHost(set.valueSpan(a.offset(), 6, 3))[13], "wq and wk stacked are one [6, 3] matrix");
            assertEquals(b.offset(), g.offset() - 6);
            assertEquals(set.get("blocks.0.attn.wk"), b);
            assertThrows(IllegalArgumentException.class, () -> set.get("blocks.0.attn.wv"));
            assertThrows(IllegalStateException.class, () -> set.declare("late", Parameter.Init.zeros(), false, 1));
        }
    }

    @Test
    void initialValuesDependOnSeedAndNameOnly() {
        ParameterSet one = new ParameterSet();
        ParameterSet two = new ParameterSet();
        two.declare("other", Parameter.Init.normal(1), true, 5);
        Parameter p1 = one.declare("blocks.3.mlp.w2", Parameter.Init.normal(0.02), true, 4, 4);
        Parameter p2 = two.declare("blocks.3.mlp.w2", Parameter.Init.normal(0.02), true, 4, 4);
        assertArrayEquals(p1.initialValues(9), p2.initialValues(9), "same name and seed, any position");
        float[] other = p1.initialValues(10);
        assertEquals(false, java.util.Arrays.equals(p1.initialValues(9), other), "another seed differs");
        assertArrayEquals(new float[] {1, 1, 1}, one.declare("g", Parameter.Init.ones(), false, 3).initialValues(1));
    }
}
