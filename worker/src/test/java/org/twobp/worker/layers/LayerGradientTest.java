package org.twobp.worker.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;
import org.twobp.worker.testing.GradCheck;
import org.twobp.worker.testing.TestParams;

/**
 * Finite-difference checks of p1 (input gradient) and p2 (parameter gradients) of every layer,
 * in float32 with the tolerance stated in {@link GradCheck} (1e-3 of the gradient's scale).
 */
class LayerGradientTest {

    private static final int B = 2;
    private static final int T = 5;
    private static final int N = B * T;
    private static final int C = 16;

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

    @Test
    void rmsNorm() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = new ParameterSet();
            RMSNorm norm = new RMSNorm(set, "norm", C, 1e-5f);
            TestParams.bindRandom(be, set, 5, 0.2);
            checkNorm(be, norm);
        }
    }

    @Test
    void layerNorm() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = new ParameterSet();
            LayerNorm norm = new LayerNorm(set, "norm", C, 1e-5f);
            TestParams.bindRandom(be, set, 6, 0.2);
            checkNorm(be, norm);
        }
    }

    private static void checkNorm(CpuBackend be, Norm norm) {
        Tensor x = random(be, 1, N, C);
        Tensor r = random(be, 2, N, C);
        Tensor out = be.allocate(MemoryCategory.ACTIVATIONS, N, C);
        GradCheck.Loss loss = () -> {
            ContextMemory m = new ContextMemory(be);
            norm.forward(be, m, x, out, new Norm.Context());
            m.releaseAll();
            return GradCheck.dot(out, r);
        };
        ContextMemory mem = new ContextMemory(be);
        Norm.Context ctx = new Norm.Context();
        norm.forward(be, mem, x, out, ctx);
        Tensor dx = be.allocate(MemoryCategory.ACTIVATIONS, N, C);
        norm.backwardInput(be, r, dx, ctx);
        mem.releaseAfterP1();
        norm.backwardWeight(be, List.of(ctx));
        GradCheck.check(norm.name() + " dx", x, dx, loss, 200, 3);
        checkParams(norm.parameters(), loss);
        mem.releaseAll();
    }

    @Test
    void embedding() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = new ParameterSet();
            Embedding emb = new Embedding(set, "emb", 7, C, 0.5);
            TestParams.bindRandom(be, set, 7, 0.5);
            int[] tokens = {3, 1, 3, 0, 6, 6, 2, 3, 5, 1};
            Tensor out = be.allocate(MemoryCategory.ACTIVATIONS, N, C);
            Tensor r = random(be, 2, N, C);
            GradCheck.Loss loss = () -> {
                emb.forward(be, tokens, 0, out, new Embedding.Context());
                return GradCheck.dot(out, r);
            };
            Embedding.Context ctx = new Embedding.Context();
            emb.forward(be, tokens, 0, out, ctx);
            emb.backwardInput(r, ctx);
            emb.backwardWeight(be, List.of(ctx));
            checkParams(emb.parameters(), loss);
        }
    }

    @Test
    void causalSelfAttentionWithGroupedKeyValueHeadsAndRope() {
        for (int kvHeads : new int[] {4, 2, 1}) {
            try (CpuBackend be = new CpuBackend(1)) {
                ParameterSet set = new ParameterSet();
                CausalSelfAttention attn = new CausalSelfAttention(set, "attn", C, 4, kvHeads, T, 10000.0, 0.4, 0.4);
                TestParams.bindRandom(be, set, 8, 0.4);
                Tensor x = random(be, 1, N, C);
                Tensor r = random(be, 2, N, C);
                Tensor y = be.allocate(MemoryCategory.ACTIVATIONS, N, C);
                GradCheck.Loss loss = () -> {
                    ContextMemory m = new ContextMemory(be);
                    be.fill(y, 0f);
                    attn.forward(be, m, x, y, B, T, new CausalSelfAttention.Context());
                    m.releaseAll();
                    return GradCheck.dot(y, r);
                };
                ContextMemory mem = new ContextMemory(be);
                CausalSelfAttention.Context ctx = new CausalSelfAttention.Context();
                be.fill(y, 0f);
                attn.forward(be, mem, x, y, B, T, ctx);
                Tensor dx = be.allocate(MemoryCategory.ACTIVATIONS, N, C);
                attn.backwardInput(be, mem, r, dx, false, ctx);
                mem.releaseAfterP1();
                attn.backwardWeight(be, List.of(ctx));
                GradCheck.check("attention dx (kv heads " + kvHeads + ")", x, dx, loss, 160, 3);
                checkParams(attn.parameters(), loss);
                mem.releaseAll();
            }
        }
    }

    @Test
    void causalSelfAttentionDoesNotLookAhead() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = new ParameterSet();
            CausalSelfAttention attn = new CausalSelfAttention(set, "attn", C, 4, 2, T, 10000.0, 0.4, 0.4);
            TestParams.bindRandom(be, set, 8, 0.4);
            Tensor x = random(be, 1, N, C);
            Tensor y1 = be.allocateZeros(MemoryCategory.ACTIVATIONS, N, C);
            Tensor y2 = be.allocateZeros(MemoryCategory.ACTIVATIONS, N, C);
            ContextMemory mem = new ContextMemory(be);
            attn.forward(be, mem, x, y1, B, T, new CausalSelfAttention.Context());
            // change the last position of the first sequence: earlier positions must not move
            CpuBackend.data(x)[x.offset() + (T - 1) * C] += 1f;
            attn.forward(be, mem, x, y2, B, T, new CausalSelfAttention.Context());
            float[] a = be.toHost(y1);
            float[] b = be.toHost(y2);
            for (int i = 0; i < (T - 1) * C; i++) {
                assertEquals(a[i], b[i], "position " + i / C + " saw the future");
            }
            mem.releaseAll();
        }
    }

    @Test
    void rotaryEmbeddingInverseUndoesTheRotation() {
        try (CpuBackend be = new CpuBackend(1)) {
            RotaryEmbedding rope = new RotaryEmbedding("rope", 8, T, 10000.0);
            Tensor x = random(be, 3, N, 24);
            float[] before = be.toHost(x);
            rope.forward(be, x, 8, 24, N, T, 2);
            rope.backwardInput(be, x, 8, 24, N, T, 2);
            float[] after = be.toHost(x);
            for (int i = 0; i < before.length; i++) {
                assertEquals(before[i], after[i], 1e-6, "element " + i);
            }
        }
    }

    @Test
    void swiGluMlp() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = new ParameterSet();
            checkMlp(be, set, new SwiGluMlp(set, "mlp", C, 24, 0.4, 0.4));
        }
    }

    @Test
    void geluMlp() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = new ParameterSet();
            checkMlp(be, set, new GeluMlp(set, "mlp", C, 24, 0.4, 0.4));
        }
    }

    private static void checkMlp(CpuBackend be, ParameterSet set, Mlp mlp) {
        TestParams.bindRandom(be, set, 9, 0.4);
        Tensor x = random(be, 1, N, C);
        Tensor r = random(be, 2, N, C);
        Tensor y = be.allocate(MemoryCategory.ACTIVATIONS, N, C);
        GradCheck.Loss loss = () -> {
            ContextMemory m = new ContextMemory(be);
            be.fill(y, 0f);
            mlp.forward(be, m, x, y, new Mlp.Context());
            m.releaseAll();
            return GradCheck.dot(y, r);
        };
        ContextMemory mem = new ContextMemory(be);
        Mlp.Context ctx = new Mlp.Context();
        be.fill(y, 0f);
        mlp.forward(be, mem, x, y, ctx);
        Tensor dx = be.allocate(MemoryCategory.ACTIVATIONS, N, C);
        mlp.backwardInput(be, mem, r, dx, false, ctx);
        mem.releaseAfterP1();
        mlp.backwardWeight(be, List.of(ctx));
        GradCheck.check(mlp.name() + " dx", x, dx, loss, 160, 3);
        checkParams(mlp.parameters(), loss);
        mem.releaseAll();
    }

    @Test
    void softmaxCrossEntropyWithIgnoredTargets() {
        try (CpuBackend be = new CpuBackend(1)) {
            int v = 11;
            int[] targets = {3, -1, 10, 0, 4, -1, 7, 7, 2, 1};
            float scale = 1f / 8;
            SoftmaxCrossEntropy ce = new SoftmaxCrossEntropy("loss");
            Tensor logits = random(be, 4, N, v);
            Tensor work = be.allocate(MemoryCategory.ACTIVATIONS, N, v);
            GradCheck.Loss loss = () -> {
                ContextMemory m = new ContextMemory(be);
                be.copy(logits, work);
                SoftmaxCrossEntropy.Context c = new SoftmaxCrossEntropy.Context();
                ce.forward(be, m, work, targets, 0, c);
                m.releaseAll();
                return c.lossSum * scale;
            };
            ContextMemory mem = new ContextMemory(be);
            SoftmaxCrossEntropy.Context ctx = new SoftmaxCrossEntropy.Context();
            Tensor probs = be.allocate(MemoryCategory.ACTIVATIONS, N, v);
            be.copy(logits, probs);
            ce.forward(be, mem, probs, targets, 0, ctx);
            assertEquals(8, ctx.scored);
            ce.backwardInput(be, scale, ctx);
            GradCheck.check("cross-entropy dlogits", logits, probs, loss, 200, 3);
            mem.releaseAll();
        }
    }
}
