package org.twobp.worker.tensor;

/**
 * The memory behind one allocation, owned by a backend (a Java array on the CPU, a device
 * pointer elsewhere). Layers never look inside: they hand tensors to the backend.
 */
public interface Storage {

    /** Number of float32 elements the storage holds. */
    int capacity();
}
