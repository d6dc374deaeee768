package org.twobp.worker.backend.cuda;

import org.twobp.worker.tensor.Storage;

/** Float32 elements in device memory: a block of the caching allocator. */
final class CudaStorage implements Storage {

    final CachingAllocator.Block block;
    private final int capacity;

    CudaStorage(CachingAllocator.Block block, int capacity) {
        this.block = block;
        this.capacity = capacity;
    }

    @Override
    public int capacity() {
        return capacity;
    }
}
