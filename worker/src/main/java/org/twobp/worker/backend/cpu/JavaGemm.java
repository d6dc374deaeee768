package org.twobp.worker.backend.cpu;

import java.util.Arrays;

/**
 * Plain-Java GEMM for machines where no native BLAS loads: cache-blocked loops whose inner
 * loop runs over contiguous memory, blocks of rows of C split across the backend's threads. It
 * reaches a few GFLOP/s, 20-50 times below OpenBLAS, which is why the backend says so in a log
 * line when it has to use it.
 */
final class JavaGemm implements Gemm {

    private static final int ROWS = 8;
    private static final int BLOCK_K = 128;
    private static final int BLOCK_N = 256;

    private final Parallel parallel;

    JavaGemm(Parallel parallel) {
        this.parallel = parallel;
    }

    @Override
    public String name() {
        return "plain Java (no native BLAS)";
    }

    @Override
    public boolean isNative() {
        return false;
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int offA, int lda, float[] b, int offB, int ldb,
                      float beta, float[] c, int offC, int ldc) {
        int rowBlocks = (m + ROWS - 1) / ROWS;
        long work = (long) m * n * Math.max(k, 1);
        parallel.forRange(rowBlocks, work > (1 << 16) ? 1 : rowBlocks, (from, to) -> {
            float[] aBlock = new float[ROWS * k];
            for (int blk = from; blk < to; blk++) {
                int i0 = blk * ROWS;
                int i1 = Math.min(m, i0 + ROWS);
                for (int i = i0; i < i1; i++) {
                    int ci = offC + i * ldc;
                    if (beta == 0f) {
                        Arrays.fill(c, ci, ci + n, 0f);
                    } else if (beta != 1f) {
                        for (int j = 0; j < n; j++) {
                            c[ci + j] *= beta;
                        }
                    }
                    int ar = (i - i0) * k;
                    for (int p = 0; p < k; p++) {
                        aBlock[ar + p] = alpha * (transA ? a[offA + p * lda + i] : a[offA + i * lda + p]);
                    }
                }
                if (transB) {
                    blockTimesBt(aBlock, i1 - i0, b, offB, ldb, c, offC + i0 * ldc, ldc, n, k);
                } else {
                    blockTimesB(aBlock, i1 - i0, b, offB, ldb, c, offC + i0 * ldc, ldc, n, k);
                }
            }
        });
    }

    /** C rows += A rows * B, over panels of B small enough to stay in cache while the rows reuse them. */
    private static void blockTimesB(float[] aBlock, int rows, float[] b, int offB, int ldb, float[] c, int offC,
                                    int ldc, int n, int k) {
        for (int j0 = 0; j0 < n; j0 += BLOCK_N) {
            int j1 = Math.min(n, j0 + BLOCK_N);
            for (int p0 = 0; p0 < k; p0 += BLOCK_K) {
                int p1 = Math.min(k, p0 + BLOCK_K);
                for (int r = 0; r < rows; r++) {
                    int ci = offC + r * ldc;
                    int ar = r * k;
                    for (int p = p0; p < p1; p++) {
                        float av = aBlock[ar + p];
                        int bp = offB + p * ldb;
                        for (int j = j0; j < j1; j++) {
                            c[ci + j] += av * b[bp + j];
                        }
                    }
                }
            }
        }
    }

    /** C rows += A rows * B^T: dot products of contiguous rows of A and B. */
    private static void blockTimesBt(float[] aBlock, int rows, float[] b, int offB, int ldb, float[] c, int offC,
                                     int ldc, int n, int k) {
        for (int j = 0; j < n; j++) {
            int bj = offB + j * ldb;
            for (int r = 0; r < rows; r++) {
                int ar = r * k;
                float s0 = 0f;
                float s1 = 0f;
                float s2 = 0f;
                float s3 = 0f;
                int p = 0;
                for (; p + 3 < k; p += 4) {
                    s0 += aBlock[ar + p] * b[bj + p];
                    s1 += aBlock[ar + p + 1] * b[bj + p + 1];
                    s2 += aBlock[ar + p + 2] * b[bj + p + 2];
                    s3 += aBlock[ar + p + 3] * b[bj + p + 3];
                }
                for (; p < k; p++) {
                    s0 += aBlock[ar + p] * b[bj + p];
                }
                c[offC + r * ldc + j] += (s0 + s1) + (s2 + s3);
            }
        }
    }
}
