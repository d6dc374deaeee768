package org.twobp.worker.backend.cuda;

/**
 * Row-major GEMM on device pointers: for each {@code i < batch},
 * {@code C_i = alpha * op(A_i) * op(B_i) + beta * C_i} with op(A) m x k, op(B) k x n and
 * {@code X_i = X + i * strideX} (elements; stride 0 reuses one matrix). Pointers already include
 * the callers' offsets. Float32 in and out; {@code precision} says how the products are computed.
 */
public interface GemmEngine {

    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
              long a, int lda, long strideA, long b, int ldb, long strideB,
              float beta, long c, int ldc, long strideC, int batch, Precision precision);

    /** One line for the log: library and version, and what each precision uses. */
    String describe();
}
