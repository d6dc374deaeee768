package org.twobp.worker.layers;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Tensor;

/**
 * The buffers of one block for one micro-batch, grouped by how long they must live. This is
 * where the stash of 2BP is made explicit:
 * <ul>
 *   <li>{@link #untilP1} — forward activations and temporaries that only p1 reads (attention
 *       probabilities, pre-activations). Freed by {@link #releaseAfterP1()}.</li>
 *   <li>{@link #untilP2} — forward activations that p2 also reads (the inputs of every layer
 *       with weights). Counted as activations until p1 ends, then as {@link MemoryCategory#STASH}.</li>
 *   <li>{@link #gradUntilP2} — output-gradients made during p1 that p2 reads. Stash from the
 *       start (activations in fused mode, where p2 follows at once).</li>
 * </ul>
 * {@link #releaseAll()} frees what is left after p2. Buffers come from the backend's pool, so a
 * context reused for the next step allocates nothing new.
 */
public final class ContextMemory {

    private final Backend backend;
    private final List<Tensor> untilP1 = new ArrayList<>();
    private final List<Tensor> untilP2 = new ArrayList<>();
    private boolean fused;
    private boolean p1Done;

    public ContextMemory(Backend backend) {
        this.backend = backend;
    }

    public Backend backend() {
        return backend;
    }

    /**
     * Fused mode: p2 runs right after p1, so nothing is ever stash; the output-gradients are
     * counted as activations. Set before the backward pass.
     */
    public void setFused(boolean fused) {
        this.fused = fused;
    }

    /** A buffer read only up to the end of p1 (counted as activations). */
    public Tensor untilP1(int... shape) {
        Tensor t = backend.allocate(MemoryCategory.ACTIVATIONS, shape);
        untilP1.add(t);
        return t;
    }

    /** A forward buffer that p2 reads: an activation until p1 ends, stash afterwards. */
    public Tensor untilP2(int... shape) {
        Tensor t = backend.allocate(p1Done ? MemoryCategory.STASH : MemoryCategory.ACTIVATIONS, shape);
        untilP2.add(t);
        return t;
    }

    /** An output-gradient made in p1 that p2 reads: stash (activations in fused mode). */
    public Tensor gradUntilP2(int... shape) {
        Tensor t = backend.allocate(fused ? MemoryCategory.ACTIVATIONS : MemoryCategory.STASH, shape);
        untilP2.add(t);
        return t;
    }

    /** Frees the p1-only buffers and counts the rest as stash until {@link #releaseAll()}. */
    public void releaseAfterP1() {
        for (Tensor t : untilP1) {
            backend.free(t);
        }
        untilP1.clear();
        for (Tensor t : untilP2) {
            backend.recategorize(t, MemoryCategory.STASH);
        }
        p1Done = true;
    }

    /** Frees everything (after p2, or to drop a micro-batch). The memory can then serve the next micro-batch. */
    public void releaseAll() {
        for (Tensor t : untilP1) {
            backend.free(t);
        }
        for (Tensor t : untilP2) {
            backend.free(t);
        }
        untilP1.clear();
        untilP2.clear();
        p1Done = false;
        fused = false;
    }

    /** Bytes held now, in all groups. */
    public long bytesHeld() {
        long n = 0;
        for (Tensor t : untilP1) {
            n += t.bytes();
        }
        for (Tensor t : untilP2) {
            n += t.bytes();
        }
        return n;
    }

    /** Bytes of the buffers that live until p2 (the stash, once p1 is done). */
    public long stashBytes() {
        long n = 0;
        for (Tensor t : untilP2) {
            n += t.bytes();
        }
        return n;
    }

    public boolean isEmpty() {
        return untilP1.isEmpty() && untilP2.isEmpty();
    }
}
