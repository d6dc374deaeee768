package org.twobp.worker.layers;

import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * Token embedding: {@code out[r, :] = table[token[r], :]}.
 * Legend: table [V, C], out [N, C], token ids [N].
 * <ul>
 *   <li>p1: none (token ids have no gradient); {@link #backwardInput} only records dy.</li>
 *   <li>p2: {@code table_grad[token[r], :] += dy[r, :]} (scatter-add).</li>
 * </ul>
 */
public final class Embedding implements Layer {

    /** What p2 needs for one micro-batch. */
    public static final class Context {
        public int[] tokens;
        public int offset;
        /** The output-gradient (kept by the caller until p2). */
        public Tensor dy;
    }

    private final String name;
    private final int vocab;
    private final int channels;
    private final Parameter table;

    public Embedding(ParameterSet set, String name, int vocab, int channels, double initStd) {
        this.name = name;
        this.vocab = vocab;
        this.channels = channels;
        this.table = set.declare(name, Parameter.Init.normal(initStd), true, vocab, channels);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(table);
    }

    public int vocab() {
        return vocab;
    }

    public Parameter table() {
        return table;
    }

    /** out [N, C] = rows of the table for {@code tokens[offset .. offset + N)}. */
    public void forward(Backend be, int[] tokens, int offset, Tensor out, Context ctx) {
        ctx.tokens = tokens;
        ctx.offset = offset;
        be.embeddingForward(table.value(), tokens, offset, out);
    }

    /** Records the output-gradient; there is no input gradient. */
    public void backwardInput(Tensor dy, Context ctx) {
        ctx.dy = dy;
    }

    /** p2: scatter-adds every micro-batch's dy into the table gradient. */
    public void backwardWeight(Backend be, List<Context> ctxs) {
        for (Context c : ctxs) {
            be.embeddingBackward(c.dy, c.tokens, c.offset, table.grad());
        }
    }
}
