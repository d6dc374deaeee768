package org.twobp.worker.layers;

import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Tensor;

/**
 * Residual connection {@code out = x + f(x)}, written so that f adds its output in place:
 * {@link #begin} copies x into out and the branch then accumulates into out (a GEMM with
 * beta = 1), which saves a buffer and a pass. Backward: the gradient reaching x is the branch's
 * input gradient plus dy, added by {@link #backwardInput}. No parameters, no p2.
 */
public final class Residual {

    private Residual() {
    }

    /** Forward, first half: {@code out = x}; the branch then adds f(x) to out. */
    public static void begin(Backend be, Tensor x, Tensor out) {
        be.copy(x, out);
    }

    /** p1: {@code dx += dy}, where dx already holds the gradient through the branch. */
    public static void backwardInput(Backend be, Tensor dy, Tensor dx) {
        be.add(dx, dy, dx);
    }
}
