package org.twobp.worker.model;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.layers.ContextMemory;
import org.twobp.worker.layers.Linear;
import org.twobp.worker.layers.Norm;
import org.twobp.worker.layers.SoftmaxCrossEntropy;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * Last block: final norm, untied LM head and softmax cross-entropy.
 * Legend: x [N, C], logits [N, V].
 * <pre>
 *   hn = norm(x);  logits = hn W_out^T;  loss = sum over scored rows of -log softmax(logits)[target]
 * </pre>
 * p1 turns the probabilities into dlogits in place (scaled by the micro-batch's lossScale), then
 * LM head p1 and norm p1. The dlogits buffer [N, V] is the LM head's output-gradient: usually
 * the largest single piece of stash.
 */
public final class HeadBlock implements Block {

    static final class Context extends BlockContext {
        final Norm.Context norm = new Norm.Context();
        final Linear.Context output = new Linear.Context();
        final SoftmaxCrossEntropy.Context loss = new SoftmaxCrossEntropy.Context();
        boolean captureLogits;
        float[] logits;
        int answersScored;
        int answersCorrect;

        Context(Backend backend) {
            super(backend);
        }
    }

    private final ModelConfig cfg;
    private final Norm norm;
    private final Linear output;
    private final SoftmaxCrossEntropy loss;

    public HeadBlock(ParameterSet set, ModelConfig cfg) {
        this.cfg = cfg;
        this.norm = TransformerBlock.norm(set, cfg, "head.norm");
        this.output = new Linear(set, "head.output", cfg.dim(), cfg.vocabSize(), false, cfg.initStd());
        this.loss = new SoftmaxCrossEntropy("head.loss");
    }

    @Override
    public String name() {
        return "head";
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(norm.parameters());
        all.addAll(output.parameters());
        return all;
    }

    @Override
    public BlockCost cost(int batch, int seqLen) {
        long n = (long) batch * seqLen;
        long c = cfg.dim();
        long v = cfg.vocabSize();
        long stats = "layernorm".equals(cfg.norm()) ? 2 : 1;
        long params = 0;
        for (Parameter p : parameters()) {
            params += p.size();
        }
        long gemm = 2 * n * c * v;
        long activations = n * (2 * c + v + stats + 2);
        long stash = n * (3 * c + v + stats);
        return new BlockCost(name(), gemm, gemm, gemm, params, 4 * activations, 4 * stash);
    }

    @Override
    public BlockContext newContext(Backend backend) {
        return new Context(backend);
    }

    @Override
    public void forward(MicroBatch mb, Tensor x, Tensor y, BlockContext bctx) {
        Context ctx = (Context) bctx;
        if (mb.targets() == null) {
            throw new IllegalArgumentException("micro-batch " + mb.index() + " has no targets, which the last stage"
                    + " (loss) needs");
        }
        Backend be = ctx.backend();
        ContextMemory mem = ctx.memory();
        int n = mb.rows();
        Tensor hn = mem.untilP2(n, cfg.dim());
        norm.forward(be, mem, x, hn, ctx.norm);
        Tensor logits = mem.untilP2(n, cfg.vocabSize());
        output.forward(be, hn, logits, false, ctx.output);
        if (ctx.captureLogits) {
            ctx.logits = be.toHost(logits);
        }
        loss.forward(be, mem, logits, mb.targets(), 0, ctx.loss);
        countAnswers(mb, ctx);
    }

    /**
     * Answers: maximal runs of consecutive scored targets within a sequence (one answer of a
     * synthetic task; a whole row of text, where every position is scored). An answer is
     * correct when every target in it is.
     */
    private static void countAnswers(MicroBatch mb, Context ctx) {
        int scored = 0;
        int correct = 0;
        int[] targets = mb.targets();
        for (int b = 0; b < mb.batchSize(); b++) {
            boolean inAnswer = false;
            boolean allRight = true;
            for (int t = 0; t <= mb.seqLen(); t++) {
                int r = b * mb.seqLen() + t;
                boolean isScored = t < mb.seqLen() && targets[r] >= 0;
                if (isScored) {
                    boolean right = ctx.loss.rowCorrect[r] > 0.5f;
                    allRight = inAnswer ? allRight && right : right;
                    inAnswer = true;
                } else if (inAnswer) {
                    scored++;
                    correct += allRight ? 1 : 0;
                    inAnswer = false;
                }
            }
        }
        ctx.answersScored = scored;
        ctx.answersCorrect = correct;
    }

    @Override
    public void backwardInput(Tensor dy, Tensor dx, boolean thenP2, BlockContext bctx) {
        Context ctx = (Context) bctx;
        Backend be = ctx.backend();
        ContextMemory mem = ctx.memory();
        int n = ctx.microBatch().rows();
        loss.backwardInput(be, ctx.microBatch().lossScale(), ctx.loss);
        Tensor dlogits = ctx.loss.probs;
        Tensor dhn = mem.gradUntilP2(n, cfg.dim());
        output.backwardInput(be, dlogits, dhn, ctx.output);
        if (thenP2) {
            output.backwardWeight(be, ctx.output);
        }
        norm.backwardInput(be, dhn, dx, ctx.norm);
        if (thenP2) {
            norm.backwardWeight(be, List.of(ctx.norm));
        }
    }

    @Override
    public void backwardWeight(List<BlockContext> ctxs) {
        Backend be = ctxs.get(0).backend();
        List<Linear.Context> out = new ArrayList<>(ctxs.size());
        List<Norm.Context> nm = new ArrayList<>(ctxs.size());
        for (BlockContext b : ctxs) {
            Context c = (Context) b;
            out.add(c.output);
            nm.add(c.norm);
        }
        output.backwardWeight(be, out);
        norm.backwardWeight(be, nm);
    }
}
