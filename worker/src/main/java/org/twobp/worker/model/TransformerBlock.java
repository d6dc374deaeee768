package org.twobp.worker.model;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.layers.CausalSelfAttention;
import org.twobp.worker.layers.ContextMemory;
import org.twobp.worker.layers.GeluMlp;
import org.twobp.worker.layers.LayerNorm;
import org.twobp.worker.layers.Mlp;
import org.twobp.worker.layers.Norm;
import org.twobp.worker.layers.RMSNorm;
import org.twobp.worker.layers.Residual;
import org.twobp.worker.layers.SwiGluMlp;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * One pre-norm transformer block. Legend: x, y [N, C], N = B*T.
 * <pre>
 *   h1 = norm1(x);  r1 = x + attention(h1)
 *   h2 = norm2(r1); y  = r1 + mlp(h2)
 * </pre>
 * p1 runs the layers backwards (mlp, norm2, residual, attention, norm1, residual); p2 is the
 * layers' p2 over any number of micro-batches. Kept until p2 (the stash): the inputs of every
 * weighted layer (x, h1, attention output, r1, h2, MLP activation, norm statistics) and their
 * output-gradients (dy, d(mlp hidden), dh2, dr1, dqkv, dh1).
 */
public final class TransformerBlock implements Block {

    static final class Context extends BlockContext {
        final Norm.Context norm1 = new Norm.Context();
        final CausalSelfAttention.Context attn = new CausalSelfAttention.Context();
        final Norm.Context norm2 = new Norm.Context();
        final Mlp.Context mlp = new Mlp.Context();

        Context(Backend backend) {
            super(backend);
        }
    }

    private final String name;
    private final ModelConfig cfg;
    private final Norm norm1;
    private final CausalSelfAttention attn;
    private final Norm norm2;
    private final Mlp mlp;

    public TransformerBlock(ParameterSet set, ModelConfig cfg, int index) {
        this.name = "blocks." + index;
        this.cfg = cfg;
        double outStd = cfg.initStd() / Math.sqrt(2.0 * cfg.layers());
        this.norm1 = norm(set, cfg, name + ".attn_norm");
        this.attn = new CausalSelfAttention(set, name + ".attn", cfg.dim(), cfg.heads(), cfg.kvHeads(), cfg.seqLen(),
                cfg.ropeTheta(), cfg.initStd(), outStd);
        this.norm2 = norm(set, cfg, name + ".mlp_norm");
        this.mlp = "gelu".equals(cfg.mlp())
                ? new GeluMlp(set, name + ".mlp", cfg.dim(), cfg.ffnHidden(), cfg.initStd(), outStd)
                : new SwiGluMlp(set, name + ".mlp", cfg.dim(), cfg.ffnHidden(), cfg.initStd(), outStd);
    }

    static Norm norm(ParameterSet set, ModelConfig cfg, String name) {
        return "layernorm".equals(cfg.norm())
                ? new LayerNorm(set, name, cfg.dim(), (float) cfg.normEps())
                : new RMSNorm(set, name, cfg.dim(), (float) cfg.normEps());
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(norm1.parameters());
        all.addAll(attn.parameters());
        all.addAll(norm2.parameters());
        all.addAll(mlp.parameters());
        return all;
    }

    @Override
    public BlockCost cost(int batch, int seqLen) {
        long n = (long) batch * seqLen;
        long c = cfg.dim();
        long f = cfg.ffnHidden();
        long w = c + 2L * cfg.kvDim();
        long up = mlp.upWidth();
        long scores = (long) batch * cfg.heads() * seqLen * seqLen;
        long stats = "layernorm".equals(cfg.norm()) ? 4 : 2;
        long linearMacs = n * (c * w + c * c + c * up + f * c);
        long core = 2L * scores * cfg.headDim(); // one T x T x hd product per head and sequence
        long params = 0;
        for (Parameter p : parameters()) {
            params += p.size();
        }
        long fwd = 2 * linearMacs + 2 * core;
        long p1 = 2 * linearMacs + 4 * core;
        long p2 = 2 * linearMacs;
        long activations = n * (5 * c + w + up + f + stats) + scores;
        long stash = n * (5 * c + f + stats) + n * (4 * c + up + w);
        return new BlockCost(name, fwd, p1, p2, params, 4 * activations, 4 * stash);
    }

    @Override
    public BlockContext newContext(Backend backend) {
        return new Context(backend);
    }

    @Override
    public void forward(MicroBatch mb, Tensor x, Tensor y, BlockContext bctx) {
        Context ctx = (Context) bctx;
        Backend be = ctx.backend();
        ContextMemory mem = ctx.memory();
        int n = mb.rows();
        int c = cfg.dim();
        Tensor h1 = mem.untilP2(n, c);
        norm1.forward(be, mem, x, h1, ctx.norm1);
        Tensor r1 = mem.untilP2(n, c);
        Residual.begin(be, x, r1);
        attn.forward(be, mem, h1, r1, mb.batchSize(), mb.seqLen(), ctx.attn);
        Tensor h2 = mem.untilP2(n, c);
        norm2.forward(be, mem, r1, h2, ctx.norm2);
        Residual.begin(be, r1, y);
        mlp.forward(be, mem, h2, y, ctx.mlp);
    }

    @Override
    public void backwardInput(Tensor dy, Tensor dx, boolean thenP2, BlockContext bctx) {
        Context ctx = (Context) bctx;
        Backend be = ctx.backend();
        ContextMemory mem = ctx.memory();
        int n = dy.rows();
        int c = cfg.dim();
        Tensor dh2 = mem.gradUntilP2(n, c);
        mlp.backwardInput(be, mem, dy, dh2, thenP2, ctx.mlp);
        Tensor dr1 = mem.gradUntilP2(n, c);
        norm2.backwardInput(be, dh2, dr1, ctx.norm2);
        if (thenP2) {
            norm2.backwardWeight(be, List.of(ctx.norm2));
        }
        Residual.backwardInput(be, dy, dr1);
        Tensor dh1 = mem.gradUntilP2(n, c);
        attn.backwardInput(be, mem, dr1, dh1, thenP2, ctx.attn);
        norm1.backwardInput(be, dh1, dx, ctx.norm1);
        if (thenP2) {
            norm1.backwardWeight(be, List.of(ctx.norm1));
        }
        Residual.backwardInput(be, dr1, dx);
    }

    @Override
    public void backwardWeight(List<BlockContext> ctxs) {
        Backend be = ctxs.get(0).backend();
        List<Norm.Context> n1 = new ArrayList<>(ctxs.size());
        List<CausalSelfAttention.Context> at = new ArrayList<>(ctxs.size());
        List<Norm.Context> n2 = new ArrayList<>(ctxs.size());
        List<Mlp.Context> ml = new ArrayList<>(ctxs.size());
        for (BlockContext b : ctxs) {
            Context c = (Context) b;
            n1.add(c.norm1);
            at.add(c.attn);
            n2.add(c.norm2);
            ml.add(c.mlp);
        }
        mlp.backwardWeight(be, ml);
        norm2.backwardWeight(be, n2);
        attn.backwardWeight(be, at);
        norm1.backwardWeight(be, n1);
    }
}
