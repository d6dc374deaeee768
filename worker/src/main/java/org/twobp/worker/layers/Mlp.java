package org.twobp.worker.layers;

import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Tensor;

/**
 * The feed-forward half of a transformer block ({@link SwiGluMlp} or {@link GeluMlp}), written
 * as a residual branch: forward adds its output into y.
 * Legend: x, y [N, C]; F hidden width.
 */
public interface Mlp extends Layer {

    /** What p1 and p2 need for one micro-batch. */
    final class Context {
        public final Linear.Context up = new Linear.Context();
        public final Linear.Context down = new Linear.Context();
        /** Pre-activation hidden state, until p1. */
        public Tensor hidden;
        /** Activation output: the down projection's input, until p2. */
        public Tensor act;
        /** Gradient of the pre-activation: the up projection's output-gradient, until p2. */
        public Tensor dHidden;
    }

    /** {@code y += mlp(x)}. */
    void forward(Backend be, ContextMemory mem, Tensor x, Tensor y, Context ctx);

    /** p1: dx (assigned) from dy (kept by the caller until p2); with {@code thenP2} each projection's p2 follows its p1. */
    void backwardInput(Backend be, ContextMemory mem, Tensor dy, Tensor dx, boolean thenP2, Context ctx);

    /** p2 over one or several micro-batches: one GEMM per projection. */
    void backwardWeight(Backend be, List<Context> ctxs);

    /** Hidden width F. */
    int hidden();

    /** Width of the up projection's output (2F for SwiGLU: gate and up together). */
    int upWidth();
}
