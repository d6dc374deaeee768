package org.twobp.worker.backend.cpu;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.NativeBLAS;

/**
 * GEMM through netlib's JNI binding to the system BLAS ({@code libblas.so.3}, which Debian's
 * alternatives point at OpenBLAS). The arrays are pinned, not copied. BLAS is column-major, so
 * the row-major product C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T.
 */
final class NativeGemm implements Gemm {

    /**
     * netlib's loader logs a warning for every implementation it cannot load (including the
     * Java ones we never use); the backend prints one line of its own instead.
     */
    private static final java.util.logging.Logger LOADER_LOG =
            java.util.logging.Logger.getLogger("dev.ludovic.netlib.blas.InstanceBuilder");

    private final BLAS blas;

    private NativeGemm(BLAS blas) {
        this.blas = blas;
    }

    /**
     * The native BLAS, or an exception whose message says why it did not load and what to do
     * (the loader itself only logs "Failed to load implementation").
     */
    static NativeGemm load() {
        LOADER_LOG.setLevel(java.util.logging.Level.SEVERE);
        try {
            return new NativeGemm(NativeBLAS.getInstance());
        } catch (Throwable t) {
            throw new IllegalStateException(diagnose(), t);
        }
    }

    /** Loads JNIBLAS directly to find the real cause, which netlib's loader swallows. */
    static String diagnose() {
        try {
            Class<?> jni = Class.forName("dev.ludovic.netlib.blas.JNIBLAS");
            java.lang.reflect.Method get = jni.getDeclaredMethod("getInstance");
            get.setAccessible(true);
            get.invoke(null);
            return "netlib's native BLAS did not load, although JNIBLAS itself loads";
        } catch (Throwable t) {
            Throwable root = t;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            String cause = root.toString();
            if (cause.contains("org/netlib/util") || cause.contains("org.netlib.util")) {
                return "netlib's JNIBLAS needs net.sourceforge.f2j:arpack_combined_all on the class path (a dependency"
                        + " of dev.ludovic.netlib:blas), which is missing: " + cause;
            }
            if (cause.contains("libblas") || cause.contains("UnsatisfiedLinkError")) {
                return "no system BLAS could be opened (" + cause + "): install OpenBLAS (Debian: apt-get install"
                        + " libopenblas0-pthread, which provides libblas.so.3) or point"
                        + " -Ddev.ludovic.netlib.blas.nativeLibPath at a libblas.so";
            }
            return "netlib's native BLAS did not load: " + cause;
        }
    }

    @Override
    public String name() {
        return blas.getClass().getSimpleName() + " (system libblas.so.3)";
    }

    @Override
    public boolean isNative() {
        return true;
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int offA, int lda, float[] b, int offB, int ldb,
                      float beta, float[] c, int offC, int ldc) {
        blas.sgemm(transB ? "T" : "N", transA ? "T" : "N", n, m, k, alpha, b, offB, ldb, a, offA, lda, beta, c, offC,
                ldc);
    }
}
