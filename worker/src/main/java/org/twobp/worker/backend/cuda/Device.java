package org.twobp.worker.backend.cuda;

import java.nio.ByteBuffer;

/**
 * What the CUDA backend asks of a device: memory, copies, kernel launches, a GEMM engine and
 * events. Two implementations: {@code JcudaDevice} (a real GPU through JCuda's driver API; the
 * only class family that imports {@code jcuda.*}) and {@code EmulatedDevice} (the same kernels
 * compiled for the host and run one block at a time, so that every kernel and the whole CUDA
 * backend are tested on machines without a GPU).
 *
 * <p>Ordering: launches, device-to-device copies and memsets go to the compute stream in
 * program order. Host-to-device copies from Java arrays complete before the call returns and are
 * ordered before later launches; device-to-host copies wait for the work issued before them.
 * Addresses are plain {@code long} device pointers; callers add element offsets themselves.
 */
public interface Device extends AutoCloseable {

    /** Short name, e.g. {@code NVIDIA H200 (sm_90)} or {@code host emulator}. */
    String name();

    /** One line for logs: device, driver, memory, GEMM library. */
    String describe();

    /** Compute capability as major*10+minor (90 for Hopper); the emulator reports 0. */
    int computeCapability();

    long totalMemory();

    long freeMemory();

    /** A device allocation of {@code bytes}; throws {@link DeviceOutOfMemoryException} when the device has none left. */
    long malloc(long bytes);

    void free(long ptr);

    /** Page-locked host memory of {@code bytes}, seen from Java as a direct buffer (native byte order). */
    ByteBuffer allocatePinned(int bytes);

    void freePinned(ByteBuffer buffer);

    void copyHostToDevice(long dst, float[] src, int srcOffset, int count);

    void copyHostToDevice(long dst, int[] src, int srcOffset, int count);

    void copyDeviceToHost(float[] dst, int dstOffset, long src, int count);

    /** Bytes [0, bytes) of a direct (ideally pinned) buffer to the device, asynchronously on the copy stream. */
    void copyHostToDeviceAsync(long dst, ByteBuffer src, long bytes);

    /** Device bytes into [0, bytes) of a direct buffer on the copy stream, after the compute work issued so far. */
    void copyDeviceToHostAsync(ByteBuffer dst, long src, long bytes);

    /** Waits for the copy stream; the compute stream then also waits for copies issued before. */
    void synchronizeCopies();

    void copyDeviceToDevice(long dst, long src, long bytes);

    /** Sets {@code count} 32-bit words at {@code dst} to {@code bits}. */
    void memset32(long dst, int bits, long count);

    /** Launches a kernel of the loaded modules by name on the compute stream. */
    void launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                int sharedBytes, KernelArgs args);

    /** Waits for all work issued so far. */
    void synchronize();

    /** Records an event on the compute stream; {@link #elapsedMillis} measures between two. */
    long recordEvent();

    /** Milliseconds between two recorded events (waits for the second); frees neither. */
    float elapsedMillis(long startEvent, long endEvent);

    void destroyEvent(long event);

    /** The library GEMM of this device (cuBLAS), or null when none loads: the backend then uses its own kernel. */
    GemmEngine blas();

    /** Why {@link #blas()} is null, for the log; null when it is not. */
    String blasUnavailableReason();

    @Override
    void close();
}
