package org.twobp.worker.layers;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * Causal multi-head self-attention with grouped key/value heads (GQA) and RoPE.
 * Legend: B batch, T positions, N = B*T, C channels, H query heads, Hkv key/value heads,
 * hd = C/H, Ckv = Hkv*hd, W = C + 2*Ckv, g = H/Hkv query heads per key/value head.
 * <pre>
 *   qkv = x [wq; wk; wv]^T      [N, W]   one GEMM; q, k, v are column blocks
 *   q, k = rope(q), rope(k)
 *   P_h = softmax(q_h k_j^T / sqrt(hd), causal)   [T, T] per sequence and head, j = h / g
 *   att_h = P_h v_j             [N, C]
 *   y += att wo^T               (the residual branch adds into y)
 * </pre>
 * p1 = wo's p1, the attention core backward (softmax backward with its scale, the inverse
 * rotation), then the QKV projection's p1. p2 = the projections' p2: two GEMMs (QKV and wo)
 * over all pending micro-batches.
 */
public final class CausalSelfAttention implements Layer {

    /** What p1 and p2 need for one micro-batch. */
    public static final class Context {
        public final Linear.Context qkvLinear = new Linear.Context();
        public final Linear.Context outLinear = new Linear.Context();
        /** q, k (rotated) and v [N, W], until p1. */
        public Tensor qkv;
        /** Attention probabilities [B*H, T, T], until p1. */
        public Tensor probs;
        /** Attention output before wo [N, C]: wo's input, until p2. */
        public Tensor att;
        /** Gradient of qkv [N, W]: the QKV projection's output-gradient, until p2. */
        public Tensor dqkv;
        int batch;
        int seqLen;
    }

    private final String name;
    private final int channels;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final Linear qkvProj;
    private final Linear outProj;
    private final RotaryEmbedding rope;

    /**
     * @param initStd    standard deviation of the Q/K/V weights
     * @param outInitStd standard deviation of wo (smaller, as it feeds the residual stream)
     */
    public CausalSelfAttention(ParameterSet set, String name, int channels, int heads, int kvHeads, int seqLen,
                               double ropeTheta, double initStd, double outInitStd) {
        if (channels % heads != 0) {
            throw new IllegalArgumentException(name + ": " + channels + " channels do not split into " + heads + " heads");
        }
        if (kvHeads < 1 || heads % kvHeads != 0) {
            throw new IllegalArgumentException(name + ": " + heads + " query heads do not share " + kvHeads
                    + " key/value heads evenly");
        }
        this.name = name;
        this.channels = channels;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = channels / heads;
        int kvChannels = kvHeads * headDim;
        this.qkvProj = new Linear(set, name + ".qkv", channels,
                new String[] {name + ".wq", name + ".wk", name + ".wv"},
                new int[] {channels, kvChannels, kvChannels}, false, initStd);
        this.outProj = new Linear(set, name + ".wo", channels, channels, false, outInitStd);
        this.rope = new RotaryEmbedding(name + ".rope", headDim, seqLen, ropeTheta);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(qkvProj.parameters());
        all.addAll(outProj.parameters());
        return all;
    }

    public Linear qkvProjection() {
        return qkvProj;
    }

    public Linear outProjection() {
        return outProj;
    }

    private int width() {
        return channels + 2 * kvHeads * headDim;
    }

    /** {@code y += attention(x)}; x, y [B*T, C]. */
    public void forward(Backend be, ContextMemory mem, Tensor x, Tensor y, int batch, int t, Context ctx) {
        int n = batch * t;
        int w = width();
        int c = channels;
        int ckv = kvHeads * headDim;
        int g = heads / kvHeads;
        ctx.batch = batch;
        ctx.seqLen = t;
        ctx.qkv = mem.untilP1(n, w);
        qkvProj.forward(be, x, ctx.qkv, false, ctx.qkvLinear);
        rope.forward(be, ctx.qkv, 0, w, n, t, heads);
        rope.forward(be, ctx.qkv, c, w, n, t, kvHeads);
        ctx.probs = mem.untilP1(batch * heads, t, t);
        ctx.att = mem.untilP2(n, c);
        for (int b = 0; b < batch; b++) {
            int rowBase = b * t * w;
            for (int j = 0; j < kvHeads; j++) {
                int h0 = j * g;
                // scores of the g query heads sharing key head j: S_h = q_h k_j^T
                be.gemmStridedBatched(false, true, t, t, headDim, 1f,
                        ctx.qkv, rowBase + h0 * headDim, w, headDim,
                        ctx.qkv, rowBase + c + j * headDim, w, 0,
                        0f, ctx.probs, (b * heads + h0) * t * t, t, t * t, g);
            }
        }
        be.causalSoftmaxForward(ctx.probs, batch * heads, t, scale());
        for (int b = 0; b < batch; b++) {
            int rowBase = b * t * w;
            for (int j = 0; j < kvHeads; j++) {
                int h0 = j * g;
                // att_h = P_h v_j
                be.gemmStridedBatched(false, false, t, headDim, t, 1f,
                        ctx.probs, (b * heads + h0) * t * t, t, t * t,
                        ctx.qkv, rowBase + c + ckv + j * headDim, w, 0,
                        0f, ctx.att, b * t * c + h0 * headDim, c, headDim, g);
            }
        }
        outProj.forward(be, ctx.att, y, true, ctx.outLinear);
    }

    /**
     * p1: {@code dx} (assigned) from {@code dy} (which the caller keeps until p2: it is wo's
     * output-gradient). With {@code thenP2}, each projection's p2 runs right after its p1 (the
     * fused backward).
     */
    public void backwardInput(Backend be, ContextMemory mem, Tensor dy, Tensor dx, boolean thenP2, Context ctx) {
        int batch = ctx.batch;
        int t = ctx.seqLen;
        int n = batch * t;
        int w = width();
        int c = channels;
        int ckv = kvHeads * headDim;
        int g = heads / kvHeads;
        Tensor datt = mem.untilP1(n, c);
        outProj.backwardInput(be, dy, datt, ctx.outLinear);
        if (thenP2) {
            outProj.backwardWeight(be, ctx.outLinear);
        }
        ctx.dqkv = mem.gradUntilP2(n, w);
        Tensor dprobs = mem.untilP1(batch * heads, t, t);
        for (int b = 0; b < batch; b++) {
            int rowBase = b * t * w;
            for (int j = 0; j < kvHeads; j++) {
                int h0 = j * g;
                // dP_h = d(att_h) v_j^T
                be.gemmStridedBatched(false, true, t, t, headDim, 1f,
                        datt, b * t * c + h0 * headDim, c, headDim,
                        ctx.qkv, rowBase + c + ckv + j * headDim, w, 0,
                        0f, dprobs, (b * heads + h0) * t * t, t, t * t, g);
                // dv_j = sum over the group of P_h^T d(att_h)
                for (int i = 0; i < g; i++) {
                    be.gemm(true, false, t, headDim, t, 1f,
                            ctx.probs, (b * heads + h0 + i) * t * t, t,
                            datt, b * t * c + (h0 + i) * headDim, c,
                            i == 0 ? 0f : 1f, ctx.dqkv, rowBase + c + ckv + j * headDim, w);
                }
            }
        }
        be.causalSoftmaxBackward(ctx.probs, dprobs, batch * heads, t, scale());
        for (int b = 0; b < batch; b++) {
            int rowBase = b * t * w;
            for (int j = 0; j < kvHeads; j++) {
                int h0 = j * g;
                // dq_h = dS_h k_j
                be.gemmStridedBatched(false, false, t, headDim, t, 1f,
                        dprobs, (b * heads + h0) * t * t, t, t * t,
                        ctx.qkv, rowBase + c + j * headDim, w, 0,
                        0f, ctx.dqkv, rowBase + h0 * headDim, w, headDim, g);
                // dk_j = sum over the group of dS_h^T q_h
                for (int i = 0; i < g; i++) {
                    be.gemm(true, false, t, headDim, t, 1f,
                            dprobs, (b * heads + h0 + i) * t * t, t,
                            ctx.qkv, rowBase + (h0 + i) * headDim, w,
                            i == 0 ? 0f : 1f, ctx.dqkv, rowBase + c + j * headDim, w);
                }
            }
        }
        rope.backwardInput(be, ctx.dqkv, 0, w, n, t, heads);
        rope.backwardInput(be, ctx.dqkv, c, w, n, t, kvHeads);
        qkvProj.backwardInput(be, ctx.dqkv, dx, ctx.qkvLinear);
        if (thenP2) {
            qkvProj.backwardWeight(be, ctx.qkvLinear);
        }
    }

    /** p2 over one or several micro-batches: one GEMM for QKV, one for wo. */
    public void backwardWeight(Backend be, List<Context> ctxs) {
        List<Linear.Context> qkv = new ArrayList<>(ctxs.size());
        List<Linear.Context> out = new ArrayList<>(ctxs.size());
        for (Context c : ctxs) {
            qkv.add(c.qkvLinear);
            out.add(c.outLinear);
        }
        outProj.backwardWeight(be, out);
        qkvProj.backwardWeight(be, qkv);
    }

    private float scale() {
        return (float) (1.0 / Math.sqrt(headDim));
    }

    /** GEMM FLOPs of the attention core (scores and weighted sum) for {@code batch} sequences of T. */
    public long coreForwardFlops(int batch, int t) {
        return 2L * 2 * batch * heads * (long) t * t * headDim;
    }
}
