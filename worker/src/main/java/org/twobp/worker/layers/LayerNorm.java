package org.twobp.worker.layers;

import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * LayerNorm: {@code out = (x - mean) * rstd * g + b} per row.
 * Legend: x, out [N, C]; g, b [C]; mean, rstd [N].
 * <ul>
 *   <li>p1: {@code dx = rstd * (dy*g - mean(dy*g) - x_hat * mean(dy*g*x_hat))}.</li>
 *   <li>p2: {@code dg += sum dy * x_hat}, {@code db += sum dy} over rows.</li>
 * </ul>
 */
public final class LayerNorm implements Norm {

    private final String name;
    private final int channels;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;

    public LayerNorm(ParameterSet set, String name, int channels, float eps) {
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

    @Override
    public int channels() {
        return channels;
    }

    @Override
    public void forward(Backend be, ContextMemory mem, Tensor x, Tensor out, Context ctx) {
        int rows = x.size() / channels;
        ctx.x = x;
        ctx.mean = mem.untilP2(rows);
        ctx.rstd = mem.untilP2(rows);
        be.layerNormForward(x, weight.value(), bias.value(), eps, out, ctx.mean, ctx.rstd);
    }

    @Override
    public void backwardInput(Backend be, Tensor dy, Tensor dx, Context ctx) {
        ctx.dy = dy;
        be.layerNormBackwardInput(dy, ctx.x, weight.value(), ctx.mean, ctx.rstd, dx);
    }

    @Override
    public void backwardWeight(Backend be, List<Context> ctxs) {
        for (Context c : ctxs) {
            be.layerNormBackwardWeight(c.dy, c.x, c.mean, c.rstd, weight.grad(), bias.grad());
        }
    }
}
