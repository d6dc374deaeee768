package org.twobp.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Tensor;

/**
 * Every kernel against its CPU twin: the same operation of the CPU backend (or, for the
 * helpers with no CPU counterpart, a Java loop here) on the same random inputs. Tolerances:
 * float32 kernels agree within 2e-6 of the output's largest magnitude (they use the CPU's exp
 * polynomial, so only the order of sums differs); reductions over rows within 1e-5; GEMM with
 * bf16 and fp16 operands within 1e-5 of a float32 GEMM of rounded inputs, at least 1e-4 away from
 * the plain float32 product (the rounding happened) and within 2e-2 (bf16) or 2e-3 (fp16) of it.
 */
class KernelParityTest {

    private static final float TIGHT = 2e-6f;
    private static final float SUMS = 1e-5f;
    /** The least a 16-bit GEMM must differ from the plain float32 product (relative to its largest value). */
    private static final double ROUNDING_SHOWS = 1e-4;



    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void elementwise(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            Tensor[] a = p.random(2, 1000);
            Tensor[] b = p.random(2, 1000);
            Tensor[] out = p.filled(0, 1000);
            p.cpu.add(a[0], b[0], out[0]);
            p.gpu.add(a[1], b[1], out[1]);
            p.same(out, 0, "add");
            p.cpu.add(a[0], b[0], a[0]);
            p.gpu.add(a[1], b[1], a[1]);
            p.same(a, 0, "add in place");
            p.cpu.scale(b[0], -0.37f);
            p.gpu.scale(b[1], -0.37f);
            p.same(b, 0, "scale");
            p.cpu.fill(out[0], 3.25f);
            p.gpu.fill(out[1], 3.25f);
            p.same(out, 0, "fill");
            p.cpu.copy(a[0], out[0]);
            p.gpu.copy(a[1], out[1]);
            p.same(out, 0, "copy");
            Tensor[] big = p.random(1, 70001);
            double s0 = p.cpu.sumOfSquares(big[0]);
            double s1 = p.gpu.sumOfSquares(big[1]);
            assertEquals(s0, s1, 1e-5 * s0, "sum of squares");
            Tensor[] y = p.random(1, 37, 45);
            Tensor[] bias = p.random(1, 45);
            p.cpu.addRowVector(y[0], bias[0]);
            p.gpu.addRowVector(y[1], bias[1]);
            p.same(y, TIGHT, "addRowVector");
            Tensor[] db = p.random(1, 45);
            p.cpu.sumRows(y[0], db[0]);
            p.gpu.sumRows(y[1], db[1]);
            p.same(db, SUMS, "sumRows (accumulating)");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void views(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            Tensor[] a = p.random(1, 6, 10);
            Tensor[] b = p.random(1, 3, 10);
            // operations on views reach the right elements (offsets into the storage)
            p.cpu.add(a[0].rowSlice(2, 3), b[0], a[0].rowSlice(3, 3));
            p.gpu.add(a[1].rowSlice(2, 3), b[1], a[1].rowSlice(3, 3));
            p.same(a, 0, "add on overlapping row slices");
            Tensor[] wide = p.random(1, 5, 12);
            Tensor[] narrow = p.filled(0, 5, 4);
            p.gpu.copy2d(wide[1], 3, 12, narrow[1], 0, 4, 5, 4);
            float[] w = p.cpu.toHost(wide[0]);
            float[] expected = new float[20];
            for (int r = 0; r < 5; r++) {
                System.arraycopy(w, r * 12 + 3, expected, r * 4, 4);
            }
            BackendPair.assertClose(expected, p.gpu.toHost(narrow[1]), 0, "copy_2d");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void norms(String target) {
        for (int c : new int[] {24, 96, 300}) {
            try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
                int rows = 9;
                Tensor[] x = p.random(3, rows, c);
                Tensor[] w = p.random(1, c);
                Tensor[] bias = p.random(1, c);
                Tensor[] out = p.filled(0, rows, c);
                Tensor[] rstd = p.filled(0, rows);
                Tensor[] mean = p.filled(0, rows);
                p.cpu.rmsNormForward(x[0], w[0], 1e-5f, out[0], rstd[0]);
                p.gpu.rmsNormForward(x[1], w[1], 1e-5f, out[1], rstd[1]);
                p.same(out, SUMS, "rmsnorm forward c=" + c);
                p.same(rstd, SUMS, "rmsnorm rstd c=" + c);
                Tensor[] dout = p.random(1, rows, c);
                Tensor[] dx = p.filled(0, rows, c);
                p.cpu.rmsNormBackwardInput(dout[0], x[0], w[0], rstd[0], dx[0]);
                p.gpu.rmsNormBackwardInput(dout[1], x[1], w[1], rstd[1], dx[1]);
                p.same(dx, SUMS, "rmsnorm p1 c=" + c);
                Tensor[] dw = p.random(1, c);
                p.cpu.rmsNormBackwardWeight(dout[0], x[0], rstd[0], dw[0]);
                p.gpu.rmsNormBackwardWeight(dout[1], x[1], rstd[1], dw[1]);
                p.same(dw, SUMS, "rmsnorm p2 c=" + c);

                p.cpu.layerNormForward(x[0], w[0], bias[0], 1e-5f, out[0], mean[0], rstd[0]);
                p.gpu.layerNormForward(x[1], w[1], bias[1], 1e-5f, out[1], mean[1], rstd[1]);
                p.same(out, SUMS, "layernorm forward c=" + c);
                p.same(mean, SUMS, "layernorm mean c=" + c);
                p.cpu.layerNormBackwardInput(dout[0], x[0], w[0], mean[0], rstd[0], dx[0]);
                p.gpu.layerNormBackwardInput(dout[1], x[1], w[1], mean[1], rstd[1], dx[1]);
                p.same(dx, SUMS, "layernorm p1 c=" + c);
                Tensor[] db = p.random(1, c);
                p.cpu.layerNormBackwardWeight(dout[0], x[0], mean[0], rstd[0], dw[0], db[0]);
                p.gpu.layerNormBackwardWeight(dout[1], x[1], mean[1], rstd[1], dw[1], db[1]);
                p.same(dw, SUMS, "layernorm p2 weight c=" + c);
                p.same(db, SUMS, "layernorm p2 bias c=" + c);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void ropeForwardAndInverse(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            int seq = 5, rows = 10, heads = 3, hd = 8, ld = 40, col = 8;
            Tensor[] x = p.random(1, rows, ld);
            Tensor[] table = p.random(1, seq, hd / 2, 2);
            p.cpu.rope(x[0], col, ld, rows, seq, heads, hd, table[0], false);
            p.gpu.rope(x[1], col, ld, rows, seq, heads, hd, table[1], false);
            p.same(x, TIGHT, "rope");
            p.cpu.rope(x[0], col, ld, rows, seq, heads, hd, table[0], true);
            p.gpu.rope(x[1], col, ld, rows, seq, heads, hd, table[1], true);
            p.same(x, TIGHT, "rope inverse");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void causalSoftmax(String target) {
        for (int t : new int[] {7, 37, 300}) {
            try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
                int mats = 3;
                Tensor[] s = p.random(4, mats * t, t);
                p.cpu.causalSoftmaxForward(s[0], mats, t, 0.35f);
                p.gpu.causalSoftmaxForward(s[1], mats, t, 0.35f);
                p.same(s, SUMS, "softmax forward t=" + t);
                Tensor[] g = p.random(1, mats * t, t);
                p.cpu.causalSoftmaxBackward(s[0], g[0], mats, t, 0.35f);
                p.gpu.causalSoftmaxBackward(s[1], g[1], mats, t, 0.35f);
                p.same(g, SUMS, "softmax backward t=" + t);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void activations(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            int rows = 7, f = 33;
            Tensor[] gu = p.random(4, rows, 2 * f);
            Tensor[] out = p.filled(0, rows, f);
            p.cpu.swigluForward(gu[0], out[0]);
            p.gpu.swigluForward(gu[1], out[1]);
            p.same(out, TIGHT, "swiglu forward");
            Tensor[] dout = p.random(1, rows, f);
            Tensor[] dgu = p.filled(0, rows, 2 * f);
            p.cpu.swigluBackward(dout[0], gu[0], dgu[0]);
            p.gpu.swigluBackward(dout[1], gu[1], dgu[1]);
            p.same(dgu, TIGHT, "swiglu backward");
            Tensor[] x = p.random(5, 1001);
            Tensor[] y = p.filled(0, 1001);
            p.cpu.geluForward(x[0], y[0]);
            p.gpu.geluForward(x[1], y[1]);
            p.same(y, TIGHT, "gelu forward");
            Tensor[] dy = p.random(1, 1001);
            Tensor[] dx = p.filled(0, 1001);
            p.cpu.geluBackward(dy[0], x[0], dx[0]);
            p.gpu.geluBackward(dy[1], x[1], dx[1]);
            p.same(dx, TIGHT, "gelu backward");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void embedding(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            int vocab = 13, c = 40, rows = 21;
            int[] tokens = new int[rows + 2];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = (i * 7) % 5 + (i % 3 == 0 ? 8 : 0); // repeats, so the scatter-add meets itself
            }
            Tensor[] table = p.random(1, vocab, c);
            Tensor[] out = p.filled(0, rows, c);
            p.cpu.embeddingForward(table[0], tokens, 2, out[0]);
            p.gpu.embeddingForward(table[1], tokens, 2, out[1]);
            p.same(out, 0, "embedding forward");
            Tensor[] dout = p.random(1, rows, c);
            Tensor[] dtable = p.random(1, vocab, c);
            p.cpu.embeddingBackward(dout[0], tokens, 2, dtable[0]);
            p.gpu.embeddingBackward(dout[1], tokens, 2, dtable[1]);
            p.same(dtable, TIGHT, "embedding backward (scatter-add)");
            int[] bad = tokens.clone();
            bad[5] = vocab;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.gpu.embeddingForward(table[1], bad, 2, out[1]));
            assertTrue(e.getMessage().contains("token id " + vocab), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void crossEntropy(String target) {
        for (int v : new int[] {11, 70, 1000}) {
            try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
                int rows = 9;
                int[] targets = new int[rows];
                for (int r = 0; r < rows; r++) {
                    targets[r] = r % 4 == 1 ? -1 : (r * 31) % v;
                }
                Tensor[] logits = p.random(3, rows, v);
                float[] l = p.cpu.toHost(logits[0]);
                l[2 * v + targets[2]] = 50f;          // row 2: the target is the arg-max
                l[3 * v + 4] = 60f;                   // row 3: a tie for the arg-max; the first one counts
                l[3 * v + 6] = 60f;
                p.cpu.copyFromHost(l, 0, logits[0]);
                p.gpu.copyFromHost(l, 0, logits[1]);
                Tensor[] losses = p.filled(9, rows);
                Tensor[] correct = p.filled(9, rows);
                p.cpu.crossEntropyForward(logits[0], targets, 0, losses[0], correct[0]);
                p.gpu.crossEntropyForward(logits[1], targets, 0, losses[1], correct[1]);
                p.same(logits, SUMS, "cross-entropy probabilities v=" + v);
                p.same(losses, SUMS, "cross-entropy losses v=" + v);
                p.same(correct, 0, "cross-entropy correct v=" + v);
                assertEquals(1f, p.gpu.toHost(correct[1])[2], "row 2 is right");
                p.cpu.crossEntropyBackward(logits[0], targets, 0, 0.125f);
                p.gpu.crossEntropyBackward(logits[1], targets, 0, 0.125f);
                p.same(logits, TIGHT, "cross-entropy backward v=" + v);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void optimizers(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            Tensor[] w = p.random(1, 777);
            Tensor[] g = p.random(1, 777);
            Tensor[] m = p.random(0.1f, 777);
            Tensor[] v = p.positive(777);
            for (int step = 1; step <= 3; step++) {
                p.cpu.adamw(w[0], g[0], m[0], v[0], 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.5f, step);
                p.gpu.adamw(w[1], g[1], m[1], v[1], 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.5f, step);
            }
            p.same(w, TIGHT, "adamw weights");
            p.same(m, TIGHT, "adamw m");
            p.same(v, TIGHT, "adamw v");
            Tensor[] buf = p.random(1, 777);
            for (boolean nesterov : new boolean[] {false, true}) {
                p.cpu.sgd(w[0], g[0], buf[0], 0.1f, 0.9f, 1e-4f, 2f, nesterov);
                p.gpu.sgd(w[1], g[1], buf[1], 0.1f, 0.9f, 1e-4f, 2f, nesterov);
                p.same(w, TIGHT, "sgd weights nesterov=" + nesterov);
                p.same(buf, TIGHT, "sgd momentum nesterov=" + nesterov);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void gemmEveryLayout(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            int m = 67, n = 45, k = 33;
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
                    Tensor[] a = p.random(1, 5 + (ta ? k : m) * lda);
                    Tensor[] b = p.random(1, 2 + (tb ? n : k) * ldb);
                    Tensor[] c = p.random(1, 4 + m * ldc);
                    for (float beta : new float[] {0f, 0.5f}) {
                        p.cpu.gemm(ta, tb, m, n, k, 0.75f, a[0], 5, lda, b[0], 2, ldb, beta, c[0], 4, ldc);
                        p.gpu.gemm(ta, tb, m, n, k, 0.75f, a[1], 5, lda, b[1], 2, ldb, beta, c[1], 4, ldc);
                        p.same(c, SUMS, "gemm transA=" + ta + " transB=" + tb + " beta=" + beta);
                    }
                }
            }
            // beta = 0 ignores what C held, even NaN
            Tensor[] a = p.random(1, 8, 8);
            Tensor[] c = p.filled(Float.NaN, 8, 8);
            Tensor[] c0 = p.filled(0, 8, 8);
            p.cpu.matmul(a[0], false, a[0], true, 0f, c0[0]);
            p.gpu.matmul(a[1], false, a[1], true, 0f, c[1]);
            BackendPair.assertClose(p.cpu.toHost(c0[0]), p.gpu.toHost(c[1]), SUMS, "beta=0 over NaN");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void gemmStridedBatchedWithSharedOperand(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            int batch = 4, m = 9, n = 17, k = 8;
            Tensor[] a = p.random(1, batch, m, k);
            Tensor[] b = p.random(1, k, n);                      // stride 0: one B for all, as GQA shares a head
            Tensor[] c = p.random(1, batch, m, n);
            p.cpu.gemmStridedBatched(false, false, m, n, k, 1f, a[0], 0, k, m * k, b[0], 0, n, 0, 1f, c[0], 0, n, m * n, batch);
            p.gpu.gemmStridedBatched(false, false, m, n, k, 1f, a[1], 0, k, m * k, b[1], 0, n, 0, 1f, c[1], 0, n, m * n, batch);
            p.same(c, SUMS, "strided batched GEMM");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void reducedPrecisionGemm(String target) {
        for (Precision precision : new Precision[] {Precision.BF16, Precision.FP16, Precision.TF32}) {
            try (BackendPair p = new BackendPair(target, precision, 7)) {
                int m = 40, n = 50, k = 64;
                Tensor[] a = p.random(1, m, k);
                Tensor[] b = p.random(1, k, n);
                Tensor[] c = p.filled(0, m, n);
                p.cpu.matmul(a[0], false, b[0], false, 0f, c[0]);
                p.gpu.matmul(a[1], false, b[1], false, 0f, c[1]);
                float tol = precision == Precision.BF16 ? 2e-2f : precision == Precision.FP16 ? 2e-3f : 2e-3f;
                p.same(c, tol, precision.label() + " GEMM against float32");
                if (precision == Precision.BF16 || precision == Precision.FP16) {
                    assertOperandsWereRounded(p, precision, a[0], b[0], p.cpu.toHost(c[0]), p.gpu.toHost(c[1]));
                }
            }
        }
    }

    /**
     * A 16-bit GEMM must compute the float32 product of rounded operands: it agrees with that
     * product on the CPU within {@link #SUMS}, and it differs from the plain float32 product by at
     * least {@link #ROUNDING_SHOWS}, far more than a float32 GEMM's other order of sums gives (at
     * most 2e-7 here; rounding gives 2e-3 for bf16, 3e-4 for fp16). A GEMM that skipped the
     * rounding would pass the loose bound against float32 above and fail both of these.
     */
    private static void assertOperandsWereRounded(BackendPair p, Precision precision, Tensor a, Tensor b, float[] plain,
                                                  float[] device) {
        boolean bf16 = precision == Precision.BF16;
        Tensor ar = p.cpu.allocate(MemoryCategory.ACTIVATIONS, a.shape());
        Tensor br = p.cpu.allocate(MemoryCategory.ACTIVATIONS, b.shape());
        p.cpu.copyFromHost(bf16 ? HalfFloats.roundToBf16(p.cpu.toHost(a)) : roundToF16(p.cpu.toHost(a)), 0, ar);
        p.cpu.copyFromHost(bf16 ? HalfFloats.roundToBf16(p.cpu.toHost(b)) : roundToF16(p.cpu.toHost(b)), 0, br);
        Tensor cr = p.cpu.allocate(MemoryCategory.ACTIVATIONS, a.shape()[0], b.shape()[1]);
        p.cpu.matmul(ar, false, br, false, 0f, cr);
        float[] rounded = p.cpu.toHost(cr);
        String what = precision.label() + " GEMM on " + p.gpu.device().name();
        double effect = relativeDifference(plain, rounded);
        assertTrue(effect >= 2 * ROUNDING_SHOWS, "rounding the operands to " + precision.label() + " changes the"
                + " float32 product by only " + effect + " of its largest value: these inputs cannot show it");
        BackendPair.assertClose(rounded, device, SUMS, what + " against float32 on rounded operands");
        double fromPlain = relativeDifference(plain, device);
        if (System.getProperty("twobp.test.report") != null) {
            System.out.printf("parity %-60s rounding moves the product by %.2e, the GEMM by %.2e%n", what, effect,
                    fromPlain);
        }
        assertTrue(fromPlain >= ROUNDING_SHOWS, what + " differs from the plain float32 product by only " + fromPlain
                + " of its largest value (rounded operands move it by " + effect + "): the operands were not rounded");
    }

    /** The float16 value nearest each element (nearest even), as the GEMM's operands hold it. */
    static float[] roundToF16(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            short h = HalfFloats.toF16(v[i]);
            int e = (h >> 10) & 0x1f;
            int mant = h & 0x3ff;
            float mag = e == 0 ? mant * 5.9604644775390625e-8f                 // subnormal: mant x 2^-24
                    : e == 31 ? (mant != 0 ? Float.NaN : Float.POSITIVE_INFINITY)
                    : Float.intBitsToFloat(((e + 112) << 23) | (mant << 13));
            out[i] = (h & 0x8000) != 0 ? -mag : mag;
        }
        return out;
    }

    /** max |expected - actual| / max |expected|. */
    static double relativeDifference(float[] expected, float[] actual) {
        double scale = 1e-30;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        return worst / scale;
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void bf16RoundingMatchesItsJavaTwin(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            float[] v = {0f, -0f, 1f, 1.00390625f, 1.005859375f, 3.14159265f, -2.71828f, 1e-40f, 3.4e38f,
                    Float.POSITIVE_INFINITY, Float.NaN, 65504f, 1e-20f};
            Tensor t = p.gpu.allocate(MemoryCategory.WORKSPACE, v.length);
            p.gpu.copyFromHost(v, 0, t);
            p.gpu.roundToBf16(t);
            float[] got = p.gpu.toHost(t);
            float[] want = HalfFloats.roundToBf16(v);
            for (int i = 0; i < v.length; i++) {
                assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), "bf16 of " + v[i]);
            }
        }
    }

    /**
     * The operand conversions cuBLAS's bf16/fp16 GEMMs read: strided batches of a matrix packed
     * into 16-bit copies, bit for bit as the Java twins round (nearest even, NaN, infinities,
     * float16 overflow and subnormals included).
     */
    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void operandConversionTo16BitMatchesItsJavaTwin(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            int rows = 3, cols = 6, ld = 8, stride = 30, batch = 2;
            float[] v = new float[stride * batch];
            float[] specials = {0f, -0f, 1.00390625f, 65504f, 65520f, 1e5f, 6e-8f, 3e-5f, -2.5e-6f, Float.NaN,
                    Float.NEGATIVE_INFINITY, 1e-40f, 3.4e38f};
            for (int i = 0; i < v.length; i++) {
                v[i] = i < specials.length ? specials[i] : (float) (p.rng.nextDouble(-1, 1) * Math.pow(10, i % 9 - 4));
            }
            Tensor src = p.gpu.allocate(MemoryCategory.WORKSPACE, v.length);
            p.gpu.copyFromHost(v, 0, src);
            for (boolean bf16 : new boolean[] {true, false}) {
                long dst = p.gpu.toHalf(p.gpu.pointerOf(src), rows, cols, ld, stride, batch, bf16, false);
                float[] packed = new float[rows * cols * batch / 2];
                p.gpu.device().copyDeviceToHost(packed, 0, dst, packed.length);
                for (int b = 0; b < batch; b++) {
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            int e = (b * rows + r) * cols + c;
                            int word = Float.floatToRawIntBits(packed[e / 2]);
                            short got = (short) (e % 2 == 0 ? word : word >>> 16);   // little-endian pairs
                            float x = v[b * stride + r * ld + c];
                            short want = bf16 ? HalfFloats.toBf16(x) : HalfFloats.toF16(x);
                            assertEquals(want, got, (bf16 ? "bf16" : "fp16") + " of " + x + " (batch " + b + ", row " + r
                                    + ", column " + c + ")");
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void transferBuffersAndMemoryAccounting(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 7)) {
            Backend g = p.gpu;
            Tensor[] x = p.random(1, 3, 100);
            FloatBuffer buf = g.allocateTransferBuffer(300);
            assertTrue(buf.isDirect(), "messages need direct buffers");
            g.copyToBuffer(x[1], buf);
            float[] sent = new float[300];
            buf.get(0, sent);
            BackendPair.assertClose(p.cpu.toHost(x[0]), sent, 0, "device -> transfer buffer");
            Tensor y = g.allocate(MemoryCategory.COMMUNICATION, 3, 100);
            g.copyFromBuffer(buf, y);
            g.synchronize();
            BackendPair.assertClose(sent, g.toHost(y), 0, "transfer buffer -> device");
            g.freeTransferBuffer(buf);

            long calls = p.gpu.driverAllocations();
            long allocated = g.memory().currentTotal();
            for (int i = 0; i < 10; i++) {
                Tensor t = g.allocate(MemoryCategory.STASH, 1000);       // a size seen before: from the cache
                assertEquals(allocated + 4000, g.memory().currentTotal());
                assertTrue(g.reservedBytes() >= g.memory().currentTotal(), "reserved covers allocated");
                g.free(t);
            }
            assertTrue(p.gpu.driverAllocations() <= calls + 1, "the cache serves repeated sizes: "
                    + (p.gpu.driverAllocations() - calls) + " driver calls for 10 allocations");
            assertTrue(g.memory().peak(MemoryCategory.STASH) >= 4000, "peak stash recorded");
            assertTrue(p.gpu.cachedBytes() > 0, "freed blocks stay cached");
            long released = p.gpu.releaseCache();
            assertTrue(released > 0 && p.gpu.cachedBytes() == 0, "cache released to the driver");
        }
    }
}
