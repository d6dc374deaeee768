package org.twobp.worker.layers;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * GELU feed-forward (GPT-2/BERT): {@code y += gelu(x w1^T + b1) w2^T + b2}, GELU in its tanh
 * approximation. Legend: x, y [N, C]; w1 [F, C], b1 [F]; w2 [C, F], b2 [C].
 * p1: w2 p1, GELU backward, w1 p1. p2: one GEMM (and a row sum for the bias) per projection.
 */
public final class GeluMlp implements Mlp {

    private final String name;
    private final int hidden;
    private final Linear up;
    private final Linear down;

    public GeluMlp(ParameterSet set, String name, int channels, int hidden, double initStd, double outInitStd) {
        this.name = name;
        this.hidden = hidden;
        this.up = new Linear(set, name + ".w1", channels, hidden, true, initStd);
        this.down = new Linear(set, name + ".w2", hidden, channels, true, outInitStd);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(up.parameters());
        all.addAll(down.parameters());
        return all;
    }

    @Override
    public int hidden() {
        return hidden;
    }

    @Override
    public int upWidth() {
        return hidden;
    }

    @Override
    public void forward(Backend be, ContextMemory mem, Tensor x, Tensor y, Context ctx) {
        int n = x.rows();
        ctx.hidden = mem.untilP1(n, hidden);
        up.forward(be, x, ctx.hidden, false, ctx.up);
        ctx.act = mem.untilP2(n, hidden);
        be.geluForward(ctx.hidden, ctx.act);
        down.forward(be, ctx.act, y, true, ctx.down);
    }

    @Override
    public void backwardInput(Backend be, ContextMemory mem, Tensor dy, Tensor dx, boolean thenP2, Context ctx) {
        int n = dy.rows();
        Tensor dAct = mem.untilP1(n, hidden);
        down.backwardInput(be, dy, dAct, ctx.down);
        if (thenP2) {
            down.backwardWeight(be, ctx.down);
        }
        ctx.dHidden = mem.gradUntilP2(n, hidden);
        be.geluBackward(dAct, ctx.hidden, ctx.dHidden);
        up.backwardInput(be, ctx.dHidden, dx, ctx.up);
        if (thenP2) {
            up.backwardWeight(be, ctx.up);
        }
    }

    @Override
    public void backwardWeight(Backend be, List<Context> ctxs) {
        List<Linear.Context> ups = new ArrayList<>(ctxs.size());
        List<Linear.Context> downs = new ArrayList<>(ctxs.size());
        for (Context c : ctxs) {
            ups.add(c.up);
            downs.add(c.down);
        }
        down.backwardWeight(be, downs);
        up.backwardWeight(be, ups);
    }
}
