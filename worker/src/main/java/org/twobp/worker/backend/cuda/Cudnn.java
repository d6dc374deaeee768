package org.twobp.worker.backend.cuda;

/**
 * Whether cuDNN can be used, for the log. Detection only: no operation of the backend needs it.
 * JCudnn loads its native library by the JCuda version on the class path
 * ({@code libJCudnn-<jcuda version>}), which the {@code jcudnn-natives} artifact must provide,
 * and that library links the cuDNN of its own major version; either missing is reported with the
 * loader's own words. Called only when the CUDA backend is chosen.
 */
final class Cudnn {

    private static String cached;

    private Cudnn() {
    }

    /** {@code "cuDNN 8.9.7"}, or {@code "cuDNN not available: <reason>"}. */
    static synchronized String probe() {
        if (cached == null) {
            cached = load();
        }
        return cached;
    }

    private static String load() {
        try {
            long v = jcuda.jcudnn.JCudnn.cudnnGetVersion();
            return "cuDNN " + version(v);
        } catch (Throwable t) {
            String reason = JcudaDevice.nativeLoadReason(t);
            if (reason.contains("is not on the class path")) {
                reason += "; JCudnn names its native library after the JCuda version (" + jcudaVersion()
                        + "), so the jcudnn-natives version must be that of jcuda";
            }
            return "cuDNN not available: " + reason;
        }
    }

    private static String jcudaVersion() {
        try {
            return jcuda.JCudaVersion.get();
        } catch (Throwable t) {
            return "unknown";
        }
    }

    /** cuDNN 8 numbers versions major*1000+minor*100+patch, cuDNN 9 major*10000+minor*100+patch. */
    static String version(long v) {
        if (v >= 10_000) {
            return (v / 10_000) + "." + (v / 100 % 100) + "." + (v % 100);
        }
        return (v / 1000) + "." + (v / 100 % 10) + "." + (v % 100);
    }
}
