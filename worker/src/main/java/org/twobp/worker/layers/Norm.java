package org.twobp.worker.layers;

import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Tensor;

/**
 * A normalisation over the channels of each row ({@link RMSNorm} or {@link LayerNorm}).
 * Legend: x, out [N, C]; per-row statistics [N].
 */
public interface Norm extends Layer {

    /** What p1 and p2 need for one micro-batch. */
    final class Context {
        /** The input (kept by the caller until p2: p2 recomputes x_hat from it). */
        public Tensor x;
        /** Row means (LayerNorm only), kept until p2. */
        public Tensor mean;
        /** Row inverse standard deviations (inverse RMS for RMSNorm), kept until p2. */
        public Tensor rstd;
        /** The output-gradient, recorded by p1 for p2 (kept by the caller until p2). */
        public Tensor dy;
    }

    int channels();

    /** {@code out = norm(x)}; saves the row statistics in {@code mem} until p2. */
    void forward(Backend be, ContextMemory mem, Tensor x, Tensor out, Context ctx);

    /** p1: {@code dx} (assigned) from {@code dy}; records dy for p2. */
    void backwardInput(Backend be, Tensor dy, Tensor dx, Context ctx);

    /** p2: gain (and bias) gradients accumulate over the given micro-batches. */
    void backwardWeight(Backend be, List<Context> ctxs);
}
