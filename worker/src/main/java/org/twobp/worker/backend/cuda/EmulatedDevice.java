package org.twobp.worker.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import org.twobp.worker.backend.cuda.emu.EmulatorNative;

/**
 * A {@link Device} that runs the project's CUDA kernels on the host: the same {@code .cu}
 * sources compiled by the host C++ compiler against a small CUDA runtime that executes one
 * block at a time, each thread a fiber (see {@code src/main/cuda/emulator}). Everything is
 * synchronous, so streams and events are trivial. It exists so that every kernel, and the CUDA
 * backend around them, is tested on machines without a GPU (CI); it is far too slow for
 * training. Memory has guard zones: a kernel that writes outside its buffers fails the launch.
 */
public final class EmulatedDevice implements Device {

    private final Map<Long, Long> events = new HashMap<>();
    private long nextEvent = 1;

    /** Opens the emulator; fails with the reason when its native library was not built. */
    public static EmulatedDevice open() {
        if (!EmulatorNative.available()) {
            throw new IllegalStateException("the CUDA kernel emulator is not available: "
                    + EmulatorNative.unavailableReason());
        }
        return new EmulatedDevice();
    }

    private EmulatedDevice() {
    }

    @Override
    public String name() {
        return "host emulator";
    }

    @Override
    public String describe() {
        return "host emulator of the CUDA kernels (one block at a time; for tests)";
    }

    @Override
    public int computeCapability() {
        return 0;
    }

    @Override
    public long totalMemory() {
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public long freeMemory() {
        return Math.max(0, totalMemory() - EmulatorNative.allocatedBytes());
    }

    @Override
    public synchronized long malloc(long bytes) {
        return EmulatorNative.malloc(bytes);
    }

    @Override
    public synchronized void free(long ptr) {
        EmulatorNative.free(ptr);
    }

    @Override
    public ByteBuffer allocatePinned(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }

    @Override
    public void freePinned(ByteBuffer buffer) {
    }

    @Override
    public void copyHostToDevice(long dst, float[] src, int srcOffset, int count) {
        EmulatorNative.copyFromFloats(dst, src, srcOffset, count);
    }

    @Override
    public void copyHostToDevice(long dst, int[] src, int srcOffset, int count) {
        EmulatorNative.copyFromInts(dst, src, srcOffset, count);
    }

    @Override
    public void copyDeviceToHost(float[] dst, int dstOffset, long src, int count) {
        EmulatorNative.copyToFloats(src, dst, dstOffset, count);
    }

    @Override
    public void copyHostToDeviceAsync(long dst, ByteBuffer src, long bytes) {
        EmulatorNative.copyFromBuffer(dst, src, bytes);
    }

    @Override
    public void copyDeviceToHostAsync(ByteBuffer dst, long src, long bytes) {
        EmulatorNative.copyToBuffer(dst, src, bytes);
    }

    @Override
    public void synchronizeCopies() {
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes) {
        EmulatorNative.copy(dst, src, bytes);
    }

    @Override
    public void memset32(long dst, int bits, long count) {
        EmulatorNative.memset32(dst, bits, count);
    }

    @Override
    public void launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                       int sharedBytes, KernelArgs args) {
        if (sharedBytes != 0) {
            throw new IllegalArgumentException("the emulator runs kernels with static shared memory only; " + kernel
                    + " asked for " + sharedBytes + " dynamic bytes");
        }
        EmulatorNative.launch(kernel, gridX, gridY, gridZ, blockX, blockY, blockZ, args); // checks the types too
    }

    @Override
    public void synchronize() {
    }

    @Override
    public synchronized long recordEvent() {
        long id = nextEvent++;
        events.put(id, System.nanoTime());
        return id;
    }

    @Override
    public synchronized float elapsedMillis(long startEvent, long endEvent) {
        Long a = events.get(startEvent);
        Long b = events.get(endEvent);
        if (a == null || b == null) {
            throw new IllegalArgumentException("unknown or destroyed event " + (a == null ? startEvent : endEvent));
        }
        return (b - a) / 1e6f;
    }

    @Override
    public synchronized void destroyEvent(long event) {
        events.remove(event);
    }

    @Override
    public GemmEngine blas() {
        return null;
    }

    @Override
    public String blasUnavailableReason() {
        return "the host emulator has no cuBLAS";
    }

    @Override
    public void close() {
    }
}
