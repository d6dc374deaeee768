package org.twobp.worker.layers;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.ConvShape;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * 2-D convolution, NCHW: {@code y = conv(x, W) (+ b per filter)}.
 * Legend: x [B, C, H, W], W [F, C, kh, kw], b [F], y [B, F, outH, outW] (see {@link ConvShape}).
 * <ul>
 *   <li>p1: {@code dx} (assigned) = the transposed convolution of dy with W.</li>
 *   <li>p2: {@code dW += sum over images of dy_n col(x_n)^T}, {@code db += sum of dy per filter}.
 *       The backend's p2 is one GEMM per image however the images are grouped, so micro-batches
 *       are not concatenated first (that would only add a copy).</li>
 * </ul>
 * The input size may differ between calls; each micro-batch's geometry is kept in its context.
 */
public final class Conv2d implements Layer {

    /** What p1 and p2 need for one micro-batch. */
    public static final class Context {
        /** The geometry of this micro-batch. */
        public ConvShape shape;
        /** The input, read by p2 (kept by the caller until p2). */
        public Tensor x;
        /** The output-gradient, read by p2 (kept by the caller until p2). */
        public Tensor dy;
    }

    private final String name;
    private final int channels;
    private final int filters;
    private final int kernelH;
    private final int kernelW;
    private final int stride;
    private final int pad;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * Weight {@code name.weight} [filters, channels, kernelH, kernelW] drawn from N(0, initStd)
     * (He initialisation is {@code sqrt(2 / (channels * kernelH * kernelW))}); with {@code bias},
     * {@code name.bias} [filters], zeros.
     */
    public Conv2d(ParameterSet set, String name, int channels, int filters, int kernelH, int kernelW, int stride,
                  int pad, boolean bias, double initStd) {
        if (channels < 1 || filters < 1 || kernelH < 1 || kernelW < 1 || stride < 1 || pad < 0) {
            throw new IllegalArgumentException(name + ": channels, filters, kernel sizes and stride must be positive"
                    + " and padding not negative, got channels " + channels + ", filters " + filters + ", kernel "
                    + kernelH + "x" + kernelW + ", stride " + stride + ", padding " + pad);
        }
        this.name = name;
        this.channels = channels;
        this.filters = filters;
        this.kernelH = kernelH;
        this.kernelW = kernelW;
        this.stride = stride;
        this.pad = pad;
        this.weight = set.declare(name + ".weight", Parameter.Init.normal(initStd), true, filters, channels, kernelH,
                kernelW);
        this.bias = bias ? set.declare(name + ".bias", Parameter.Init.zeros(), false, filters) : null;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(2);
        all.add(weight);
        if (bias != null) {
            all.add(bias);
        }
        return List.copyOf(all);
    }

    public int channels() {
        return channels;
    }

    public int filters() {
        return filters;
    }

    public boolean hasBias() {
        return bias != null;
    }

    /** The geometry for a batch of {@code batch} images of height x width. */
    public ConvShape shape(int batch, int height, int width) {
        return new ConvShape(batch, channels, height, width, filters, kernelH, kernelW, stride, pad);
    }

    /** {@code y = conv(x, W) + b} for x [batch, C, height, width]; y [batch, F, outH, outW]. */
    public void forward(Backend be, Tensor x, Tensor y, int batch, int height, int width, Context ctx) {
        ConvShape s = shape(batch, height, width);
        ctx.shape = s;
        ctx.x = x;
        ctx.dy = null;
        be.conv2dForward(s, x, weight.value(), y);
        if (bias != null) {
            be.addChannelBias(y, bias.value(), batch, filters, s.colCols());
        }
    }

    /** p1: {@code dx} (assigned) from dy; records dy for p2. */
    public void backwardInput(Backend be, Tensor dy, Tensor dx, Context ctx) {
        if (ctx.shape == null) {
            throw new IllegalStateException(name + ": p1 needs the forward of the micro-batch first");
        }
        ctx.dy = dy;
        be.conv2dBackwardInput(ctx.shape, dy, weight.value(), dx);
    }

    /** p2 over one or several micro-batches: weight (and bias) gradients accumulate. */
    public void backwardWeight(Backend be, List<Context> ctxs) {
        for (Context c : ctxs) {
            if (c.x == null || c.dy == null) {
                throw new IllegalStateException(name + ": p2 needs forward and p1 of every micro-batch first");
            }
        }
        for (Context c : ctxs) {
            be.conv2dBackwardWeight(c.shape, c.dy, c.x, weight.grad());
            if (bias != null) {
                be.sumChannels(c.dy, bias.grad(), c.shape.batch(), filters, c.shape.colCols());
            }
        }
    }

    /** p2 of a single micro-batch (the fused backward). */
    public void backwardWeight(Backend be, Context ctx) {
        backwardWeight(be, List.of(ctx));
    }
}
