package org.twobp.worker.layers;

import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * Batch normalisation of NCHW activations in training mode: per channel c,
 * {@code out = (x - mean_c) * rstd_c * g_c + b_c} with the mean and biased variance over the
 * batch and all spatial positions. Legend: x, out [B, C, S] with S = H*W; g, b, mean, rstd [C].
 * <ul>
 *   <li>p1: {@code dx = rstd * g * (dy - mean(dy) - x_hat * mean(dy * x_hat))}, means per channel.</li>
 *   <li>p2: {@code dg += sum dy * x_hat}, {@code db += sum dy} per channel.</li>
 * </ul>
 * Running statistics for inference are not kept: every forward normalises with the statistics of
 * its own micro-batch, so results depend on how a batch is cut into micro-batches.
 */
public final class BatchNorm2d implements Layer {

    /** What p1 and p2 need for one micro-batch. */
    public static final class Context {
        /** The input (kept by the caller until p2: p2 recomputes x_hat from it). */
        public Tensor x;
        /** Channel means, kept until p2. */
        public Tensor mean;
        /** Channel inverse standard deviations, kept until p2. */
        public Tensor rstd;
        /** The output-gradient, recorded by p1 for p2 (kept by the caller until p2). */
        public Tensor dy;
        public int batch;
        public int spatial;
    }

    private final String name;
    private final int channels;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;

    public BatchNorm2d(ParameterSet set, String name, int channels, float eps) {
        if (channels < 1 || !(eps > 0)) {
            throw new IllegalArgumentException(name + ": channels must be positive and eps > 0, got " + channels
                    + " and " + eps);
        }
        this.name = name;
        this.channels = channels;
        this.eps = eps;
        this.weight = set.declare(name + ".weight", Parameter.Init.ones(), false, channels);
        this.bias = set.declare(name + ".bias", Parameter.Init.zeros(), false, channels);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(weight, bias);
    }

    public int channels() {
        return channels;
    }

    /** {@code out = bn(x)} for x [batch, C, spatial]; saves the channel statistics in {@code mem} until p2. */
    public void forward(Backend be, ContextMemory mem, Tensor x, Tensor out, int batch, int spatial, Context ctx) {
        ctx.x = x;
        ctx.dy = null;
        ctx.batch = batch;
        ctx.spatial = spatial;
        ctx.mean = mem.untilP2(channels);
        ctx.rstd = mem.untilP2(channels);
        be.batchNormForward(x, weight.value(), bias.value(), eps, batch, channels, spatial, out, ctx.mean, ctx.rstd);
    }

    /** p1: {@code dx} (assigned) from dy; records dy for p2. */
    public void backwardInput(Backend be, Tensor dy, Tensor dx, Context ctx) {
        if (ctx.mean == null) {
            throw new IllegalStateException(name + ": p1 needs the forward of the micro-batch first");
        }
        ctx.dy = dy;
        be.batchNormBackwardInput(dy, ctx.x, weight.value(), ctx.mean, ctx.rstd, ctx.batch, channels, ctx.spatial, dx);
    }

    /** p2: gain and bias gradients accumulate over the given micro-batches. */
    public void backwardWeight(Backend be, List<Context> ctxs) {
        for (Context c : ctxs) {
            if (c.x == null || c.dy == null) {
                throw new IllegalStateException(name + ": p2 needs forward and p1 of every micro-batch first");
            }
        }
        for (Context c : ctxs) {
            be.batchNormBackwardWeight(c.dy, c.x, c.mean, c.rstd, c.batch, channels, c.spatial, weight.grad(),
                    bias.grad());
        }
    }
}
