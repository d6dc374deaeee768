package org.twobp.worker.backend;

import org.twobp.worker.tensor.Tensor;

/** Argument checks every backend makes the same way, so that both fail with the same message. */
public final class Shapes {

    private Shapes() {
    }

    public static void sameSize(Tensor a, Tensor b) {
        if (a.size() != b.size()) {
            throw new IllegalArgumentException("size mismatch: " + a + " vs " + b);
        }
    }

    /**
     * The operands of a (strided batched) GEMM as {@code Backend.gemmStridedBatched} takes them;
     * returns false when there is nothing to compute.
     */
    public static boolean checkGemm(boolean transA, boolean transB, int m, int n, int k,
                                    Tensor a, int offA, int lda, int strideA, Tensor b, int offB, int ldb, int strideB,
                                    Tensor c, int offC, int ldc, int strideC, int batch) {
        if (m == 0 || n == 0 || batch == 0) {
            return false;
        }
        checkMatrix("A", a, offA, lda, strideA, batch, transA ? k : m, transA ? m : k);
        checkMatrix("B", b, offB, ldb, strideB, batch, transB ? n : k, transB ? k : n);
        checkMatrix("C", c, offC, ldc, strideC, batch, m, n);
        return true;
    }

    /**
     * A GEMM operand: {@code batch} matrices of rows x cols at element {@code off} of {@code t},
     * row stride {@code ld}, batch stride {@code stride}, must lie inside the tensor.
     */
    public static void checkMatrix(String which, Tensor t, int off, int ld, int stride, int batch, int rows, int cols) {
        if (rows == 0 || cols == 0) {
            return;
        }
        long last = off + (long) (batch - 1) * stride + (long) (rows - 1) * ld + cols;
        if (ld < cols || off < 0 || stride < 0 || last > t.size()) {
            throw new IllegalArgumentException("GEMM matrix " + which + " (" + batch + " x " + rows + "x" + cols
                    + ", offset " + off + ", row stride " + ld + ", batch stride " + stride + ") does not fit " + t);
        }
    }
}
