package org.twobp.worker.backend.cuda;

/**
 * Opens the CUDA backend for a rank ({@code Backends} calls this by reflection): the rank's GPU
 * through JCuda, or the host emulator of the kernels. Prints what it found (device, GEMM
 * library, cuDNN, whether Open MPI can send from device memory) once, for the rank's log.
 */
public final class CudaBackends {

    /** Set {@code -Dtwobp.cuda.timing=off} to skip the per-operation events. */
    public static final String TIMING_PROPERTY = "twobp.cuda.timing";

    private CudaBackends() {
    }

    public static CudaBackend open(String kind, String precision, int localRank, int localSize) {
        Precision p = Precision.parse(precision);
        boolean timing = !"off".equalsIgnoreCase(System.getProperty(TIMING_PROPERTY, "on"));
        Device device = switch (kind) {
            case "cuda" -> JcudaDevice.open(localRank, localSize);
            case "cuda-emulated" -> EmulatedDevice.open();
            default -> throw new IllegalArgumentException("not a CUDA backend: " + kind);
        };
        CudaBackend backend = new CudaBackend(device, true, p, timing);
        if (kind.equals("cuda")) {
            CudaAwareMpi.Result mpi = CudaAwareMpi.detect();
            System.err.println("[twobp] local rank " + localRank + ": " + backend.describe() + "; " + Cudnn.probe()
                    + "; Open MPI CUDA-aware: " + mpi.detail() + " (messages go through pinned host buffers)");
        }
        return backend;
    }
}
