package org.twobp.worker.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.twobp.worker.backend.ConvShape;
import org.twobp.worker.backend.OpKind;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Tensor;
import org.twobp.worker.testing.GradCheck;

class CpuBackendTest {

    /** Reference GEMM in double, straight from the definition. */
    private static double[] reference(boolean ta, boolean tb, int m, int n, int k, float[] a, int lda, float[] b,
                                      int ldb, float alpha, float beta, float[] c0, int ldc) {
        double[] c = new double[m * ldc];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = ta ? a[p * lda + i] : a[i * lda + p];
                    double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                    s += av * bv;
                }
                c[i * ldc + j] = alpha * s + beta * c0[i * ldc + j];
            }
        }
        return c;
    }

    private static void checkGemm(CpuBackend be) {
        int m = 37;
        int n = 29;
        int k = 53;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                int lda = (ta ? m : k) + 3;
                int ldb = (tb ? k : n) + 2;
                int ldc = n + 5;
                Tensor a = be.allocate(MemoryCategory.ACTIVATIONS, (ta ? k : m) * lda);
                Tensor b = be.allocate(MemoryCategory.ACTIVATIONS, (tb ? n : k) * ldb);
                Tensor c = be.allocate(MemoryCategory.ACTIVATIONS, m * ldc);
                GradCheck.randomize(a, 1, 1);
                GradCheck.randomize(b, 2, 1);
                GradCheck.randomize(c, 3, 1);
                float[] c0 = be.toHost(c);
                double[] want = reference(ta, tb, m, n, k, be.toHost(a), lda, be.toHost(b), ldb, 0.5f, 0.25f, c0, ldc);
                be.gemm(ta, tb, m, n, k, 0.5f, a, 0, lda, b, 0, ldb, 0.25f, c, 0, ldc);
                float[] got = be.toHost(c);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < ldc; j++) {
                        double expect = j < n ? want[i * ldc + j] : c0[i * ldc + j];
                        assertEquals(expect, got[i * ldc + j], 1e-4, "gemm ta=" + ta + " tb=" + tb + " at " + i + "," + j
                                + " with " + be.gemmName());
                    }
                }
                be.free(a);
                be.free(b);
                be.free(c);
            }
        }
    }

    @Test
    void nativeGemmMatchesDefinitionForAllTransposes() {
        try (CpuBackend be = new CpuBackend(2, true)) {
            checkGemm(be);
            assertTrue(be.stats().flops(OpKind.GEMM) > 0);
        }
    }

    @Test
    void javaFallbackGemmMatchesDefinitionForAllTransposes() {
        try (CpuBackend be = new CpuBackend(2, false)) {
            assertTrue(!be.hasNativeBlas());
            checkGemm(be);
        }
    }

    @Test
    void nativeBlasLoadsOnThisMachine() {
        try (CpuBackend be = new CpuBackend(1, true)) {
            assertTrue(be.hasNativeBlas(), "expected OpenBLAS through netlib JNI; " + NativeGemm.diagnose());
        }
    }

    @Test
    void gemmRejectsMatricesOutsideTheirTensor() {
        try (CpuBackend be = new CpuBackend(1)) {
            Tensor a = be.allocate(MemoryCategory.ACTIVATIONS, 4, 4);
            Tensor c = be.allocate(MemoryCategory.ACTIVATIONS, 4, 4);
            assertThrows(IllegalArgumentException.class,
                    () -> be.gemm(false, false, 4, 4, 5, 1f, a, 0, 4, a, 0, 4, 0f, c, 0, 4));
        }
    }

    @Test
    void memoryIsAccountedPerCategoryWithPeaks() {
        try (CpuBackend be = new CpuBackend(1)) {
            Tensor a = be.allocate(MemoryCategory.ACTIVATIONS, 100);
            Tensor b = be.allocate(MemoryCategory.ACTIVATIONS, 50);
            be.recategorize(b, MemoryCategory.STASH);
            assertEquals(400, be.memory().current(MemoryCategory.ACTIVATIONS));
            assertEquals(200, be.memory().current(MemoryCategory.STASH));
            assertEquals(600, be.memory().peak(MemoryCategory.ACTIVATIONS));
            be.free(a);
            be.free(b);
            assertEquals(0, be.memory().currentTotal());
            assertEquals(600, be.memory().peakTotal());
            assertEquals(600, be.pooledBytes());
            Tensor again = be.allocate(MemoryCategory.ACTIVATIONS, 100);
            assertEquals(200, be.pooledBytes(), "a freed buffer of the same size is reused");
            assertThrows(IllegalStateException.class, () -> be.free(a), "double free is caught");
            assertThrows(IllegalStateException.class, () -> a.view(0, 10), "use after free is caught");
            be.free(again);
        }
    }

    @Test
    void causalSoftmaxRowsSumToOneAndMaskTheFuture() {
        try (CpuBackend be = new CpuBackend(1)) {
            int t = 5;
            Tensor s = be.allocate(MemoryCategory.ACTIVATIONS, 2, t, t);
            GradCheck.randomize(s, 7, 3);
            be.causalSoftmaxForward(s, 2, t, 0.5f);
            float[] p = be.toHost(s);
            for (int r = 0; r < 2 * t; r++) {
                int i = r % t;
                double sum = 0;
                for (int j = 0; j < t; j++) {
                    if (j > i) {
                        assertEquals(0f, p[r * t + j]);
                    }
                    sum += p[r * t + j];
                }
                assertEquals(1.0, sum, 1e-6);
            }
        }
    }

    /**
     * The convolution and batch-norm loops split over threads by rows and channels; each element
     * is computed in the same order whatever the split, so the results are identical.
     */
    @Test
    void convolutionAndBatchNormDoNotDependOnTheThreadCount() {
        ConvShape s = new ConvShape(3, 32, 16, 16, 8, 3, 3, 1, 1);
        float[][][] results = new float[2][][];
        int[] threads = {1, 4};
        for (int t = 0; t < 2; t++) {
            try (CpuBackend be = new CpuBackend(threads[t])) {
                Tensor x = be.allocate(MemoryCategory.ACTIVATIONS, s.inputSize());
                Tensor w = be.allocate(MemoryCategory.ACTIVATIONS, s.weightSize());
                Tensor dy = be.allocate(MemoryCategory.ACTIVATIONS, s.outputSize());
                GradCheck.randomize(x, 1, 1);
                GradCheck.randomize(w, 2, 0.2);
                GradCheck.randomize(dy, 3, 1);
                Tensor y = be.allocate(MemoryCategory.ACTIVATIONS, s.outputSize());
                Tensor dx = be.allocate(MemoryCategory.ACTIVATIONS, s.inputSize());
                Tensor dw = be.allocateZeros(MemoryCategory.ACTIVATIONS, s.weightSize());
                be.conv2dForward(s, x, w, y);
                be.conv2dBackwardInput(s, dy, w, dx);
                be.conv2dBackwardWeight(s, dy, x, dw);
                int c = s.channels();
                int sp = s.height() * s.width();
                Tensor gamma = be.allocate(MemoryCategory.ACTIVATIONS, c);
                Tensor beta = be.allocate(MemoryCategory.ACTIVATIONS, c);
                GradCheck.randomize(gamma, 4, 1);
                GradCheck.randomize(beta, 5, 1);
                Tensor out = be.allocate(MemoryCategory.ACTIVATIONS, s.inputSize());
                Tensor mean = be.allocate(MemoryCategory.ACTIVATIONS, c);
                Tensor rstd = be.allocate(MemoryCategory.ACTIVATIONS, c);
                Tensor bdx = be.allocate(MemoryCategory.ACTIVATIONS, s.inputSize());
                Tensor dg = be.allocateZeros(MemoryCategory.ACTIVATIONS, c);
                Tensor db = be.allocateZeros(MemoryCategory.ACTIVATIONS, c);
                be.batchNormForward(x, gamma, beta, 1e-5f, s.batch(), c, sp, out, mean, rstd);
                be.batchNormBackwardInput(dx, x, gamma, mean, rstd, s.batch(), c, sp, bdx);
                be.batchNormBackwardWeight(dx, x, mean, rstd, s.batch(), c, sp, dg, db);
                be.sumChannels(dx, db, s.batch(), c, sp);
                be.addChannelBias(out, beta, s.batch(), c, sp);
                results[t] = new float[][] {be.toHost(y), be.toHost(dx), be.toHost(dw), be.toHost(out), be.toHost(bdx),
                    be.toHost(dg), be.toHost(db)};
            }
        }
        String[] names = {"conv forward", "conv p1", "conv p2", "batch norm forward + bias", "batch norm p1",
            "batch norm p2 gamma", "batch norm p2 beta + channel sum"};
        for (int i = 0; i < names.length; i++) {
            assertTrue(java.util.Arrays.equals(results[0][i], results[1][i]), names[i] + " differs with 4 threads");
        }
    }
}
