package org.twobp.worker.backend.cuda;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

/**
 * Device memory for tensors without calling {@code cuMemAlloc} on the hot path: a freed block
 * goes to a cache keyed by its rounded size and is handed out again to the next request of
 * that size (or one up to a quarter smaller), so after the first training step every buffer comes
 * from the cache. When the device runs out, the cache is returned to the driver and the
 * allocation tried once more.
 *
 * <p>Two numbers, as PyTorch reports them: <em>allocated</em> bytes are what live tensors hold
 * (the backend's {@code MemoryTracker}, exact sizes by category); <em>reserved</em> bytes are
 * what this allocator holds from the driver, in use or cached. The paper's memory figures are
 * peak reserved bytes per GPU.
 */
final class CachingAllocator {

    /** Small requests round to 512 bytes, large ones to 128 KiB, so that sizes repeat and fragments stay few. */
    static final long SMALL_LIMIT = 1 << 20;
    private static final long SMALL_GRAIN = 512;
    private static final long LARGE_GRAIN = 128 << 10;

    private final Device device;
    private final boolean exact;
    private final TreeMap<Long, ArrayDeque<Long>> cache = new TreeMap<>();
    private long cachedBytes;
    private long inUseBytes;
    private long peakReserved;
    private long driverAllocations;

    /**
     * @param exact no rounding, and reuse only of blocks of the very size: for the host emulator,
     *              whose guard zones then sit right after each tensor and catch any overrun
     */
    CachingAllocator(Device device, boolean exact) {
        this.device = device;
        this.exact = exact;
    }

    private long sizeFor(long bytes) {
        return exact ? Math.max(4, bytes) : round(bytes);
    }

    static long round(long bytes) {
        long grain = bytes <= SMALL_LIMIT ? SMALL_GRAIN : LARGE_GRAIN;
        return Math.max(grain, (bytes + grain - 1) / grain * grain);
    }

    /** A block of at least {@code bytes}; its size is {@link Block#size()}. */
    synchronized Block allocate(long bytes) {
        long size = sizeFor(bytes);
        Map.Entry<Long, ArrayDeque<Long>> e = cache.ceilingEntry(size);
        if (e != null && e.getKey() <= (exact ? size : size + size / 4)) {
            long ptr = e.getValue().pop();
            if (e.getValue().isEmpty()) {
                cache.remove(e.getKey());
            }
            cachedBytes -= e.getKey();
            inUseBytes += e.getKey();
            return new Block(ptr, e.getKey());
        }
        long ptr;
        try {
            ptr = device.malloc(size);
        } catch (DeviceOutOfMemoryException oom) {
            long released = releaseCache();
            if (released == 0) {
                throw oom(bytes, oom);
            }
            try {
                ptr = device.malloc(size);
            } catch (DeviceOutOfMemoryException again) {
                throw oom(bytes, again);
            }
        }
        driverAllocations++;
        inUseBytes += size;
        peakReserved = Math.max(peakReserved, inUseBytes + cachedBytes);
        return new Block(ptr, size);
    }

    private DeviceOutOfMemoryException oom(long bytes, DeviceOutOfMemoryException cause) {
        return new DeviceOutOfMemoryException("out of device memory allocating " + mib(bytes) + " MiB: this rank holds "
                + mib(inUseBytes) + " MiB in tensors; " + cause.getMessage()
                + ". Use fewer or smaller micro-batches, more pipeline stages, or a schedule with a lower memory cap");
    }

    synchronized void free(Block b) {
        cache.computeIfAbsent(b.size(), k -> new ArrayDeque<>()).push(b.ptr());
        inUseBytes -= b.size();
        cachedBytes += b.size();
    }

    /** Returns every cached block to the driver; the bytes returned. */
    synchronized long releaseCache() {
        long released = 0;
        for (Map.Entry<Long, ArrayDeque<Long>> e : cache.entrySet()) {
            for (long ptr : e.getValue()) {
                device.free(ptr);
                released += e.getKey();
            }
        }
        cache.clear();
        cachedBytes = 0;
        return released;
    }

    synchronized long reservedBytes() {
        return inUseBytes + cachedBytes;
    }

    synchronized long peakReservedBytes() {
        return peakReserved;
    }

    synchronized long cachedBytes() {
        return cachedBytes;
    }


    /** Calls to the driver's allocator so far (stays flat once the cache is warm). */
    synchronized long driverAllocations() {
        return driverAllocations;
    }


    private static String mib(long bytes) {
        return String.format("%.1f", bytes / (1024.0 * 1024.0));
    }

    /** A device pointer and the rounded size behind it. */
    record Block(long ptr, long size) {
    }
}
