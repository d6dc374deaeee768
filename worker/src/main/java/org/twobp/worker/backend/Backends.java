package org.twobp.worker.backend;

import java.lang.reflect.InvocationTargetException;
import org.twobp.worker.backend.cpu.CpuBackend;

/**
 * Makes the backend a run asks for ({@code train.backend}). The CUDA backend is reached by
 * reflection, so that choosing the CPU never loads a class of the CUDA package, and with it
 * JCuda's native libraries.
 */
public final class Backends {

    private static final String CUDA_FACTORY = "org.twobp.worker.backend.cuda.CudaBackends";

    private Backends() {
    }

    /**
     * @param kind       auto (cuda when this node has an NVIDIA GPU, else cpu), cpu, cuda or cuda-emulated
     * @param precision  fp32, tf32 or bf16 (GPU only)
     * @param threads    Java threads of the CPU backend (0: the node's cores divided among its ranks)
     * @param localRank  this rank's index on its node (picks the GPU)
     * @param localSize  ranks on this node
     */
    public static Backend create(String kind, String precision, int threads, int localRank, int localSize) {
        if (kind.equals("auto")) {
            kind = gpuPresent() ? "cuda" : "cpu";
            if (kind.equals("cpu") && !precision.equals("fp32")) {
                throw new IllegalArgumentException("precision " + precision + " needs a GPU, and this node has none"
                        + " (backend auto chose cpu): set train.precision = \"fp32\" or run on a GPU node");
            }
        }
        switch (kind) {
            case "cpu" -> {
                return new CpuBackend(threads > 0 ? threads : CpuBackend.defaultThreads(localSize));
            }
            case "cuda", "cuda-emulated" -> {
                try {
                    return (Backend) Class.forName(CUDA_FACTORY)
                            .getMethod("open", String.class, String.class, int.class, int.class)
                            .invoke(null, kind, precision, localRank, localSize);
                } catch (InvocationTargetException e) {
                    if (e.getCause() instanceof RuntimeException r) {
                        throw r;
                    }
                    throw new IllegalStateException("the CUDA backend could not start: " + e.getCause(), e.getCause());
                } catch (ReflectiveOperationException | LinkageError e) {
                    throw new IllegalStateException("the CUDA backend is not part of this build: " + e, e);
                }
            }
            default -> throw new IllegalArgumentException("unknown backend \"" + kind
                    + "\": use auto, cpu, cuda or cuda-emulated");
        }
    }

    /** Whether this node has an NVIDIA GPU driver's device files (what {@code auto} decides on). */
    public static boolean gpuPresent() {
        return java.nio.file.Files.exists(java.nio.file.Path.of("/dev/nvidiactl"));
    }
}
