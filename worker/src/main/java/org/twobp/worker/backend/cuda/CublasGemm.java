package org.twobp.worker.backend.cuda;

import jcuda.Pointer;
import jcuda.cudaDataType;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasComputeType;
import jcuda.jcublas.cublasGemmAlgo;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasPointerMode;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

/**
 * GEMM through cuBLAS ({@code cublasGemmEx} / {@code cublasGemmStridedBatchedEx}) on the
 * device's compute stream, scalars from the host. cuBLAS is column-major, so the row-major
 * product C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T: B first, then A, with m and n
 * swapped; a row-major matrix with row stride ld is the column-major transpose with the same ld.
 *
 * <p>FP32 uses {@code CUBLAS_COMPUTE_32F} (no tensor-core rounding), TF32
 * {@code CUBLAS_COMPUTE_32F_FAST_TF32}. For BF16 and FP16 the operands are first converted to
 * 16-bit copies by the backend's {@link OperandConverter}, then multiplied with float32
 * accumulation into the float32 C.
 *
 * <p>JCublas 12 links {@code libcublas.so.12}, which is not part of the driver: where it is
 * missing (a node with only the CUDA 13 libraries, or none) {@link #tryLoad} fails with the
 * reason and the backend uses its own GEMM kernel.
 */
final class CublasGemm implements GemmEngine, AutoCloseable {

    /**
     * Makes 16-bit copies of GEMM operands on the compute stream (the backend implements it with
     * a conversion kernel).
     */
    @FunctionalInterface
    interface OperandConverter {

        /**
         * Converts {@code batch} row-major matrices of {@code rows x cols} at {@code src} (row
         * stride {@code ld}, batch stride {@code stride} elements) to bfloat16 ({@code bf16}) or
         * float16, packed (row stride {@code cols}, batch stride {@code rows * cols}), and returns
         * the copy's device address. {@code second} picks one of two buffers, so that both
         * operands of one product can be converted; a buffer stays valid until the next call for
         * the same one.
         */
        long toHalf(long src, int rows, int cols, int ld, long stride, int batch, boolean bf16, boolean second);
    }

    /** The first failure to load JCublas: later attempts only see NoClassDefFoundError. */
    private static volatile String loadFailure;

    private final cublasHandle handle;
    private final Runnable bind;
    private final String version;
    private volatile OperandConverter converter;
    private boolean closed;

    private CublasGemm(cublasHandle handle, Runnable bind, String version) {
        this.handle = handle;
        this.bind = bind;
        this.version = version;
    }

    /**
     * cuBLAS bound to {@code stream}, or an IllegalStateException whose message says why not
     * (the property {@value JcudaDevice#BLAS_PROPERTY}{@code =off}, a library that does not load,
     * a handle that cannot be created).
     *
     * @param bind makes the device's context current on the calling thread
     */
    static CublasGemm tryLoad(CUstream stream, Runnable bind) {
        String setting = System.getProperty(JcudaDevice.BLAS_PROPERTY, "on").trim();
        if (setting.equalsIgnoreCase("off")) {
            throw new IllegalStateException("disabled by -D" + JcudaDevice.BLAS_PROPERTY + "=off");
        }
        String failed = loadFailure;
        if (failed != null) {
            throw new IllegalStateException(failed);
        }
        try {
            JCublas2.setExceptionsEnabled(false);
        } catch (Throwable t) {
            failed = "cuBLAS could not be loaded: " + JcudaDevice.nativeLoadReason(t) + ". JCublas "
                    + jcudaVersion() + " needs the CUDA 12 cuBLAS (libcublas.so.12 and libcublasLt.so.12, e.g. from"
                    + " the CUDA 12 toolkit or the nvidia-cublas-cu12 wheel) on LD_LIBRARY_PATH when the JVM starts";
            loadFailure = failed;
            throw new IllegalStateException(failed, t);
        }
        bind.run();
        cublasHandle h = new cublasHandle();
        int r = JCublas2.cublasCreate(h);
        if (r != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new IllegalStateException("cublasCreate failed: " + cublasStatus.stringFor(r)
                    + " (libcublas.so.12 loaded, but it cannot use this GPU or driver)");
        }
        try {
            check(JCublas2.cublasSetStream(h, new cudaStream_t(stream)), "cublasSetStream");
            check(JCublas2.cublasSetPointerMode(h, cublasPointerMode.CUBLAS_POINTER_MODE_HOST),
                    "cublasSetPointerMode");
            // TF32 is requested per call through the compute type, never by the handle
            check(JCublas2.cublasSetMathMode(h, cublasMath.CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
            int[] v = new int[1];
            check(JCublas2.cublasGetVersion(h, v), "cublasGetVersion");
            return new CublasGemm(h, bind, v[0] / 10000 + "." + v[0] / 100 % 100 + "." + v[0] % 100);
        } catch (IllegalStateException e) {
            JCublas2.cublasDestroy(h);
            throw e;
        }
    }

    private static String jcudaVersion() {
        try {
            return jcuda.JCudaVersion.get();
        } catch (Throwable t) {
            return "12";
        }
    }

    /** Installs the converter that BF16 and FP16 products need. */
    void setOperandConverter(OperandConverter converter) {
        this.converter = converter;
    }

    /**
     * Synchronized so that the conversions of A and B and the product they feed are queued
     * together: the converter's buffers are reused by the next product.
     */
    @Override
    public synchronized void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     long a, int lda, long strideA, long b, int ldb, long strideB,
                     float beta, long c, int ldc, long strideC, int batch, Precision precision) {
        if (m == 0 || n == 0 || batch == 0) {
            return;
        }
        if (closed) {
            throw new IllegalStateException("cuBLAS was closed with its device");
        }
        bind.run();
        int abType = cudaDataType.CUDA_R_32F;
        int computeType = precision == Precision.TF32
                ? cublasComputeType.CUBLAS_COMPUTE_32F_FAST_TF32 : cublasComputeType.CUBLAS_COMPUTE_32F;
        if (precision == Precision.BF16 || precision == Precision.FP16) {
            OperandConverter conv = converter;
            if (conv == null) {
                throw new IllegalStateException("cuBLAS " + precision.label() + " GEMM needs the backend's operand"
                        + " converter (setOperandConverter was not called)");
            }
            boolean bf16 = precision == Precision.BF16;
            abType = bf16 ? cudaDataType.CUDA_R_16BF : cudaDataType.CUDA_R_16F;
            // the stored matrices: op(A) is m x k, so A is k x m when transposed; likewise B
            int aRows = transA ? k : m;
            int aCols = transA ? m : k;
            int bRows = transB ? n : k;
            int bCols = transB ? k : n;
            // a shared matrix (stride 0) is converted once and stays shared
            a = conv.toHalf(a, aRows, aCols, lda, strideA, strideA == 0 ? 1 : batch, bf16, false);
            b = conv.toHalf(b, bRows, bCols, ldb, strideB, strideB == 0 ? 1 : batch, bf16, true);
            lda = Math.max(1, aCols);
            ldb = Math.max(1, bCols);
            strideA = strideA == 0 ? 0 : (long) aRows * aCols;
            strideB = strideB == 0 ? 0 : (long) bRows * bCols;
        }
        Pointer alphaP = Pointer.to(new float[] {alpha});
        Pointer betaP = Pointer.to(new float[] {beta});
        int opA = transA ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
        int opB = transB ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
        // the *_new entry points take a cublasComputeType_t; the plain ones a legacy cudaDataType
        int r = batch == 1
                ? JCublas2.cublasGemmEx_new(handle, opB, opA, n, m, k, alphaP, JcudaDevice.at(b), abType, ldb,
                JcudaDevice.at(a), abType, lda, betaP, JcudaDevice.at(c), cudaDataType.CUDA_R_32F, ldc, computeType,
                cublasGemmAlgo.CUBLAS_GEMM_DEFAULT)
                : JCublas2.cublasGemmStridedBatchedEx_new(handle, opB, opA, n, m, k, alphaP, JcudaDevice.at(b),
                abType, ldb, strideB, JcudaDevice.at(a), abType, lda, strideA, betaP, JcudaDevice.at(c),
                cudaDataType.CUDA_R_32F, ldc, strideC, batch, computeType, cublasGemmAlgo.CUBLAS_GEMM_DEFAULT);
        if (r != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new IllegalStateException("cuBLAS " + precision.label() + " GEMM (" + (transA ? "A^T" : "A") + " * "
                    + (transB ? "B^T" : "B") + ", m=" + m + " n=" + n + " k=" + k + ", lda=" + lda + " ldb=" + ldb
                    + " ldc=" + ldc + ", batch " + batch + ") failed: " + cublasStatus.stringFor(r));
        }
    }

    @Override
    public String describe() {
        return "cuBLAS " + version + " (fp32: 32F compute, tf32: 32F_FAST_TF32 tensor cores, bf16/fp16: 16-bit"
                + " operand copies with float32 accumulation)";
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        bind.run();
        check(JCublas2.cublasDestroy(handle), "cublasDestroy");
    }

    private static void check(int r, String call) {
        if (r != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new IllegalStateException(call + " failed: " + cublasStatus.stringFor(r));
        }
    }
}
