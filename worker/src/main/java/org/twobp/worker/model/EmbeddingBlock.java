package org.twobp.worker.model;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.layers.Embedding;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * First block: token ids to vectors, {@code y = table[tokens]}. Legend: y [N, C].
 * No p1 (ids have no gradient); p2 scatter-adds the kept output-gradient into the table.
 */
public final class EmbeddingBlock implements Block {

    static final class Context extends BlockContext {
        final Embedding.Context embedding = new Embedding.Context();

        Context(Backend backend) {
            super(backend);
        }
    }

    private final Embedding embedding;
    private final int dim;

    public EmbeddingBlock(ParameterSet set, ModelConfig cfg) {
        this.dim = cfg.dim();
        this.embedding = new Embedding(set, "embedding.tokens", cfg.vocabSize(), cfg.dim(), cfg.initStd());
    }

    @Override
    public String name() {
        return "embedding";
    }

    @Override
    public List<Parameter> parameters() {
        return embedding.parameters();
    }

    @Override
    public BlockCost cost(int batch, int seqLen) {
        long n = (long) batch * seqLen;
        long params = (long) embedding.vocab() * dim;
        return new BlockCost(name(), 0, 0, 0, params, 0, 4 * n * dim);
    }

    @Override
    public BlockContext newContext(Backend backend) {
        return new Context(backend);
    }

    @Override
    public void forward(MicroBatch mb, Tensor x, Tensor y, BlockContext ctx) {
        if (mb.tokens() == null) {
            throw new IllegalArgumentException("micro-batch " + mb.index() + " has no token ids, which the first stage"
                    + " (embedding) needs");
        }
        embedding.forward(ctx.backend(), mb.tokens(), 0, y, ((Context) ctx).embedding);
    }

    @Override
    public void backwardInput(Tensor dy, Tensor dx, boolean thenP2, BlockContext ctx) {
        Context c = (Context) ctx;
        embedding.backwardInput(dy, c.embedding);
        if (thenP2) {
            embedding.backwardWeight(ctx.backend(), List.of(c.embedding));
        }
    }

    @Override
    public void backwardWeight(List<BlockContext> ctxs) {
        List<Embedding.Context> list = new ArrayList<>(ctxs.size());
        for (BlockContext c : ctxs) {
            list.add(((Context) c).embedding);
        }
        embedding.backwardWeight(ctxs.get(0).backend(), list);
    }
}
