package org.twobp.worker.model;

import org.twobp.worker.backend.Backend;
import org.twobp.worker.layers.ContextMemory;
import org.twobp.worker.tensor.Tensor;

/**
 * What one block keeps for one micro-batch between its forward, p1 and p2. The buffers live in
 * {@link #memory()}, grouped by lifetime (see {@link ContextMemory}); the block's input and its
 * output-gradient belong to this context too, so that freeing a block's context frees all the
 * block still needs.
 */
public class BlockContext {

    private final ContextMemory memory;
    MicroBatch microBatch;
    /** The block's input [N, C] (null for the embedding). */
    Tensor input;
    /** The gradient of the block's output [N, C] (null for the head). */
    Tensor outputGrad;

    protected BlockContext(Backend backend) {
        this.memory = new ContextMemory(backend);
    }

    public ContextMemory memory() {
        return memory;
    }

    public Backend backend() {
        return memory.backend();
    }

    public MicroBatch microBatch() {
        return microBatch;
    }
}
