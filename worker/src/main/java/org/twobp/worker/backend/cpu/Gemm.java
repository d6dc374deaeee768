package org.twobp.worker.backend.cpu;

/**
 * Row-major single-precision GEMM on Java arrays:
 * {@code C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C}.
 */
interface Gemm {

    /** Implementation name for log lines, e.g. {@code JNIBLAS (OpenBLAS)}. */
    String name();

    boolean isNative();

    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
               float[] a, int offA, int lda, float[] b, int offB, int ldb,
               float beta, float[] c, int offC, int ldc);
}
