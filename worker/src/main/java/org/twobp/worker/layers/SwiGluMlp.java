package org.twobp.worker.layers;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * SwiGLU feed-forward (LLaMa): {@code y += (silu(x w1^T) * (x w3^T)) w2^T}.
 * Legend: x, y [N, C]; w1 (gate), w3 (up) [F, C]; w2 (down) [C, F].
 * w1 and w3 are stacked into one [2F, C] projection, so gate and up are one GEMM giving
 * [N, 2F] (gate columns first).
 * p1: down p1, SwiGLU backward, up p1. p2: one GEMM each for [w1; w3] and w2.
 */
public final class SwiGluMlp implements Mlp {

    private final String name;
    private final int hidden;
    private final Linear up;
    private final Linear down;

    public SwiGluMlp(ParameterSet set, String name, int channels, int hidden, double initStd, double outInitStd) {
        this.name = name;
        this.hidden = hidden;
        this.up = new Linear(set, name + ".w13", channels, new String[] {name + ".w1", name + ".w3"},
                new int[] {hidden, hidden}, false, initStd);
        this.down = new Linear(set, name + ".w2", hidden, channels, false, outInitStd);
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
        return 2 * hidden;
    }

    @Override
    public void forward(Backend be, ContextMemory mem, Tensor x, Tensor y, Context ctx) {
        int n = x.rows();
        ctx.hidden = mem.untilP1(n, 2 * hidden);
        up.forward(be, x, ctx.hidden, false, ctx.up);
        ctx.act = mem.untilP2(n, hidden);
        be.swigluForward(ctx.hidden, ctx.act);
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
        ctx.dHidden = mem.gradUntilP2(n, 2 * hidden);
        be.swigluBackward(dAct, ctx.hidden, ctx.dHidden);
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
