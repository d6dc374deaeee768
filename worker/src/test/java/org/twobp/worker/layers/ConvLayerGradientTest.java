package org.twobp.worker.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.twobp.worker.backend.ConvShape;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;
import org.twobp.worker.testing.GradCheck;
import org.twobp.worker.testing.TestParams;

/**
 * Finite-difference checks of p1 (input gradient) and p2 (parameter gradients) of the
 * convolutional layers, in float32 with the tolerance of {@link GradCheck} (1e-3 of the
 * gradient's scale), as {@link LayerGradientTest} does for the transformer's layers.
 */
class ConvLayerGradientTest {

    private static Tensor random(CpuBackend be, long seed, int... shape) {
        Tensor t = be.allocate(MemoryCategory.ACTIVATIONS, shape);
        GradCheck.randomize(t, seed, 1);
        return t;
    }

    private static void checkParams(List<Parameter> params, GradCheck.Loss loss) {
        int i = 0;
        for (Parameter p : params) {
            GradCheck.check(p.name(), p.value(), p.grad(), loss, 60, 1000 + i++);
        }
    }

    /** Kernel, stride, padding and bias combinations: square and not, strided, padded, odd sizes. */
    @Test
    void conv2d() {
        int[][] cases = {
            // C, F, H, W, kh, kw, stride, pad, bias
            {3, 4, 7, 6, 3, 3, 1, 1, 1},
            {3, 4, 7, 6, 3, 2, 2, 1, 1},
            {2, 5, 6, 7, 2, 3, 1, 0, 0},
            {2, 3, 9, 8, 3, 3, 2, 0, 1},
            {1, 2, 5, 5, 1, 1, 2, 0, 0},
        };
        for (int[] k : cases) {
            try (CpuBackend be = new CpuBackend(1)) {
                ParameterSet set = new ParameterSet();
                Conv2d conv = new Conv2d(set, "conv", k[0], k[1], k[4], k[5], k[6], k[7], k[8] == 1, 0.3);
                TestParams.bindRandom(be, set, 11, 0.3);
                int b = 2;
                ConvShape s = conv.shape(b, k[2], k[3]);
                String what = "conv " + s;
                Tensor x = random(be, 1, b, k[0], k[2], k[3]);
                Tensor r = random(be, 2, b, k[1], s.outHeight(), s.outWidth());
                Tensor y = be.allocate(MemoryCategory.ACTIVATIONS, b, k[1], s.outHeight(), s.outWidth());
                GradCheck.Loss loss = () -> {
                    conv.forward(be, x, y, b, k[2], k[3], new Conv2d.Context());
                    return GradCheck.dot(y, r);
                };
                Conv2d.Context ctx = new Conv2d.Context();
                conv.forward(be, x, y, b, k[2], k[3], ctx);
                Tensor dx = be.allocate(MemoryCategory.ACTIVATIONS, b, k[0], k[2], k[3]);
                conv.backwardInput(be, r, dx, ctx);
                conv.backwardWeight(be, List.of(ctx));
                GradCheck.check(what + " dx", x, dx, loss, 200, 3);
                checkParams(conv.parameters(), loss);
                assertEquals(0, be.memory().current(MemoryCategory.WORKSPACE), what + ": workspace returned");
            }
        }
    }

    @Test
    void batchNorm2d() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = new ParameterSet();
            BatchNorm2d bn = new BatchNorm2d(set, "bn", 3, 1e-5f);
            TestParams.bindRandom(be, set, 12, 0.2);
            int b = 2;
            int spatial = 4 * 5;
            Tensor x = random(be, 1, b, 3, spatial);
            float[] xd = CpuBackend.data(x);
            for (int i = 0; i < x.size(); i++) {
                xd[x.offset() + i] = xd[x.offset() + i] * (1 + i / (b * spatial) % 3) + 2f;  // per-channel offset
            }
            Tensor r = random(be, 2, b, 3, spatial);
            Tensor out = be.allocate(MemoryCategory.ACTIVATIONS, b, 3, spatial);
            GradCheck.Loss loss = () -> {
                ContextMemory m = new ContextMemory(be);
                bn.forward(be, m, x, out, b, spatial, new BatchNorm2d.Context());
                m.releaseAll();
                return GradCheck.dot(out, r);
            };
            ContextMemory mem = new ContextMemory(be);
            BatchNorm2d.Context ctx = new BatchNorm2d.Context();
            bn.forward(be, mem, x, out, b, spatial, ctx);
            Tensor dx = be.allocate(MemoryCategory.ACTIVATIONS, b, 3, spatial);
            bn.backwardInput(be, r, dx, ctx);
            mem.releaseAfterP1();
            bn.backwardWeight(be, List.of(ctx));
            GradCheck.check("batch norm dx", x, dx, loss, 120, 3);
            checkParams(bn.parameters(), loss);
            mem.releaseAll();
        }
    }

    /** p2 over two micro-batches at once adds the same gradients as two separate p2 calls. */
    @Test
    void weightGradientsAccumulateOverMicroBatches() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = new ParameterSet();
            Conv2d conv = new Conv2d(set, "conv", 2, 3, 3, 3, 1, 1, true, 0.3);
            BatchNorm2d bn = new BatchNorm2d(set, "bn", 3, 1e-5f);
            TestParams.bindRandom(be, set, 13, 0.3);
            ContextMemory mem = new ContextMemory(be);
            Conv2d.Context[] cc = new Conv2d.Context[2];
            BatchNorm2d.Context[] bc = new BatchNorm2d.Context[2];
            for (int m = 0; m < 2; m++) {
                Tensor x = random(be, 20 + m, 2, 2, 5, 5);
                Tensor y = be.allocate(MemoryCategory.ACTIVATIONS, 2, 3, 5, 5);
                Tensor z = be.allocate(MemoryCategory.ACTIVATIONS, 2, 3, 5, 5);
                cc[m] = new Conv2d.Context();
                bc[m] = new BatchNorm2d.Context();
                conv.forward(be, x, y, 2, 5, 5, cc[m]);
                bn.forward(be, mem, y, z, 2, 25, bc[m]);
                Tensor dz = random(be, 30 + m, 2, 3, 5, 5);
                Tensor dy = be.allocate(MemoryCategory.ACTIVATIONS, 2, 3, 5, 5);
                Tensor dx = be.allocate(MemoryCategory.ACTIVATIONS, 2, 2, 5, 5);
                bn.backwardInput(be, dz, dy, bc[m]);
                conv.backwardInput(be, dy, dx, cc[m]);
            }
            be.fill(set.grads(), 0f);
            for (int m = 0; m < 2; m++) {
                bn.backwardWeight(be, List.of(bc[m]));
                conv.backwardWeight(be, cc[m]);
            }
            float[] separate = be.toHost(set.grads());
            bn.backwardWeight(be, List.of(bc[0], bc[1]));
            conv.backwardWeight(be, List.of(cc[0], cc[1]));
            float[] twice = be.toHost(set.grads());
            for (int i = 0; i < separate.length; i++) {
                assertEquals(2 * separate[i], twice[i], 1e-5 * Math.max(1, Math.abs(separate[i])), "gradient " + i);
            }
            mem.releaseAll();
        }
    }
}
