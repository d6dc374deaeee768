package org.twobp.worker.backend.cpu;

import org.twobp.worker.tensor.Storage;

/** A Java float array: what BLAS over JNI reads and writes in place, without copying. */
final class CpuStorage implements Storage {

    final float[] data;

    CpuStorage(float[] data) {
        this.data = data;
    }

    @Override
    public int capacity() {
        return data.length;
    }
}
