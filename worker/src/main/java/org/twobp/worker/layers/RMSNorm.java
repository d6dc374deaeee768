package org.twobp.worker.layers;

import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * RMSNorm: {@code out = x * rstd * g} with {@code rstd = 1 / sqrt(mean(x^2) + eps)} per row.
 * Legend: x, out [N, C]; g [C]; rstd [N].
 * <ul>
 *   <li>p1: {@code dx = rstd * (dy*g - x_hat * mean(dy*g*x_hat))}, x_hat = x * rstd.</li>
 *   <li>p2: {@code dg += sum over rows of dy * x_hat}, from the kept x, rstd and dy.</li>
 * </ul>
 */
public final class RMSNorm implements Norm {

    private final String name;
    private final int channels;
    private final float eps;
    private final Parameter weight;

    public RMSNorm(ParameterSet set, String name, int channels, float eps) {
        this.name = name;
        this.channels = channels;
        this.eps = eps;
        this.weight = set.declare(name + ".weight", Parameter.Init.ones(), false, channels);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(weight);
    }

    @Override
    public int channels() {
        return channels;
    }

    public Parameter weight() {
        return weight;
    }

    @Override
    public void forward(Backend be, ContextMemory mem, Tensor x, Tensor out, Context ctx) {
        ctx.x = x;
        ctx.rstd = mem.untilP2(x.size() / channels);
        be.rmsNormForward(x, weight.value(), eps, out, ctx.rstd);
    }

    @Override
    public void backwardInput(Backend be, Tensor dy, Tensor dx, Context ctx) {
        ctx.dy = dy;
        be.rmsNormBackwardInput(dy, ctx.x, weight.value(), ctx.rstd, dx);
    }

    @Override
    public void backwardWeight(Backend be, List<Context> ctxs) {
        for (Context c : ctxs) {
            be.rmsNormBackwardWeight(c.dy, c.x, c.rstd, weight.grad());
        }
    }
}
