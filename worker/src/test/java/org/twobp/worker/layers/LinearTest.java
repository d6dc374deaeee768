package org.twobp.worker.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;
import org.twobp.worker.testing.GradCheck;
import org.twobp.worker.testing.TestParams;

class LinearTest {

    private static final int N = 12;
    private static final int IN = 10;
    private static final int OUT = 7;

    @Test
    void p1AndP2MatchFiniteDifferences() {
        for (boolean bias : new boolean[] {false, true}) {
            try (CpuBackend be = new CpuBackend(1)) {
                ParameterSet set = new ParameterSet();
                Linear lin = new Linear(set, "lin", IN, OUT, bias, 0.3);
                TestParams.bindRandom(be, set, 11, 0.3);
                Tensor x = be.allocate(MemoryCategory.ACTIVATIONS, N, IN);
                Tensor y = be.allocate(MemoryCategory.ACTIVATIONS, N, OUT);
                Tensor r = be.allocate(MemoryCategory.ACTIVATIONS, N, OUT);
                GradCheck.randomize(x, 1, 1);
                GradCheck.randomize(r, 2, 1);
                Linear.Context ctx = new Linear.Context();
                GradCheck.Loss loss = () -> {
                    lin.forward(be, x, y, false, new Linear.Context());
                    return GradCheck.dot(y, r);
                };
                lin.forward(be, x, y, false, ctx);
                Tensor dx = be.allocate(MemoryCategory.ACTIVATIONS, N, IN);
                lin.backwardInput(be, r, dx, ctx);
                lin.backwardWeight(be, ctx);
                GradCheck.check("linear dx", x, dx, loss, 200, 3);
                GradCheck.check("linear dW", lin.weight(), lin.weightGrad(), loss, 200, 4);
                if (bias) {
                    GradCheck.check("linear db", set.get("lin.bias").value(), set.get("lin.bias").grad(), loss, 200, 5);
                }
            }
        }
    }

    @Test
    void p2OverConcatenatedMicroBatchesEqualsSumOfSingleP2() {
        int k = 3;
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = new ParameterSet();
            Linear lin = new Linear(set, "lin", IN, OUT, true, 0.3);
            TestParams.bindRandom(be, set, 11, 0.3);
            List<Linear.Context> ctxs = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                Linear.Context c = new Linear.Context();
                c.x = be.allocate(MemoryCategory.STASH, N, IN);
                c.dy = be.allocate(MemoryCategory.STASH, N, OUT);
                GradCheck.randomize(c.x, 100 + i, 1);
                GradCheck.randomize(c.dy, 200 + i, 1);
                ctxs.add(c);
            }
            be.fill(set.grads(), 0f);
            lin.backwardWeight(be, ctxs);
            float[] together = be.toHost(set.grads());
            be.fill(set.grads(), 0f);
            for (Linear.Context c : ctxs) {
                lin.backwardWeight(be, c);
            }
            float[] separately = be.toHost(set.grads());
            for (int i = 0; i < together.length; i++) {
                assertEquals(separately[i], together[i], 1e-5 * (1 + Math.abs(separately[i])), "element " + i);
            }
            assertEquals(0, be.memory().current(MemoryCategory.WORKSPACE), "the concatenation workspace is freed");
        }
    }
}
