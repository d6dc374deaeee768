package org.twobp.worker.model;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.layers.ContextMemory;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * A LLaMa-like transformer, or the contiguous range of its blocks that one pipeline stage runs.
 * Blocks are numbered 0 (embedding), 1..L (transformer blocks {@code blocks.0..blocks.L-1}),
 * L+1 (head); {@link #create(ModelConfig, Backend, int, int)} builds blocks [from, to) with
 * their parameters in one contiguous block per role. Parameters are initialised from the seed
 * and their names only, so every cut into stages starts from the same weights.
 *
 * <p>The executor's view, per micro-batch and stage (see {@link StageContext}):
 * <pre>
 *   ctx = model.newContext()                 once per in-flight micro-batch, reused
 *   in  = model.inputBuffer(ctx, mb)         not on the first stage: fill with the received activation
 *   out = model.forward(ctx, mb)             not null except on the last stage: send it, then ctx.releaseOutput()
 *   dOut = model.outputGradBuffer(ctx)       not on the last stage: fill with the received gradient
 *   dIn = model.backwardInput(ctx)           p1; not null except on the first stage: send, then ctx.releaseInputGrad()
 *   model.backwardWeight(List.of(ctxA, ...)) p2 of one or several micro-batches (one GEMM per weight)
 *   dIn = model.backward(ctx)                instead of the two above: fused p1 + p2 (no 2BP)
 * </pre>
 */
public final class Model {

    private final ModelConfig config;
    private final Backend backend;
    private final int from;
    private final int to;
    private final List<Block> blocks;
    private final ParameterSet params;

    private Model(ModelConfig config, Backend backend, int from, int to, List<Block> blocks, ParameterSet params) {
        this.config = config;
        this.backend = backend;
        this.from = from;
        this.to = to;
        this.blocks = blocks;
        this.params = params;
    }

    /** The whole model on one backend. */
    public static Model create(ModelConfig cfg, Backend backend) {
        return create(cfg, backend, 0, cfg.blockCount());
    }

    /** Blocks [from, to) of the model: one pipeline stage. */
    public static Model create(ModelConfig cfg, Backend backend, int from, int to) {
        ParameterSet set = new ParameterSet();
        List<Block> blocks = blocks(cfg, set, from, to);
        Tensor p = backend.allocate(MemoryCategory.PARAMETERS, Math.max(1, set.size()));
        Tensor g = backend.allocateZeros(MemoryCategory.GRADIENTS, Math.max(1, set.size()));
        set.bind(p.view(0, set.size()), g.view(0, set.size()));
        for (Parameter param : set.list()) {
            backend.copyFromHost(param.initialValues(cfg.seed()), 0, param.value());
        }
        return new Model(cfg, backend, from, to, List.copyOf(blocks), set);
    }

    /** Builds blocks [from, to), declaring their parameters in {@code set} (no memory is touched). */
    public static List<Block> blocks(ModelConfig cfg, ParameterSet set, int from, int to) {
        int count = cfg.blockCount();
        if (from < 0 || to > count || from >= to) {
            throw new IllegalArgumentException("block range [" + from + ", " + to + ") is not inside the model's " + count
                    + " blocks (0 = embedding, 1.." + cfg.layers() + " = transformer blocks, " + (count - 1)
                    + " = head)");
        }
        List<Block> list = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            if (i == 0) {
                list.add(new EmbeddingBlock(set, cfg));
            } else if (i == count - 1) {
                list.add(new HeadBlock(set, cfg));
            } else {
                list.add(new TransformerBlock(set, cfg, i - 1));
            }
        }
        return list;
    }

    /**
     * The cost of every block for a micro-batch of {@code batch} sequences, in block order,
     * computed from shapes only (works for models far too large to allocate here).
     */
    public static List<BlockCost> costs(ModelConfig cfg, int batch, int seqLen) {
        List<BlockCost> out = new ArrayList<>();
        for (int i = 0; i < cfg.blockCount(); i++) {
            // one set per block: a whole large model would not fit one set's int offsets
            out.add(blocks(cfg, new ParameterSet(), i, i + 1).get(0).cost(batch, seqLen));
        }
        return out;
    }

    public ModelConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    public List<Block> blocks() {
        return blocks;
    }

    /** Index of this stage's first block in the whole model. */
    public int firstBlock() {
        return from;
    }

    /** One past this stage's last block. */
    public int endBlock() {
        return to;
    }

    public boolean isFirstStage() {
        return from == 0;
    }

    public boolean isLastStage() {
        return to == config.blockCount();
    }

    /** Named parameter views and the contiguous parameter and gradient blocks. */
    public ParameterSet parameters() {
        return params;
    }

    public long parameterCount() {
        return params.size();
    }

    public void zeroGrads() {
        if (params.size() > 0) {
            backend.fill(params.grads(), 0f);
        }
    }

    public List<BlockCost> costs(int batch, int seqLen) {
        List<BlockCost> out = new ArrayList<>();
        for (Block b : blocks) {
            out.add(b.cost(batch, seqLen));
        }
        return out;
    }

    /** A context for one in-flight micro-batch of this stage. */
    public StageContext newContext() {
        List<BlockContext> ctxs = new ArrayList<>(blocks.size());
        for (Block b : blocks) {
            ctxs.add(b.newContext(backend));
        }
        return new StageContext(List.copyOf(ctxs), new ContextMemory(backend));
    }

    /** Not on the first stage: the buffer [B*T, C] to fill with the received activation before {@link #forward}. */
    public Tensor inputBuffer(StageContext ctx, MicroBatch mb) {
        if (isFirstStage()) {
            throw new IllegalStateException("the first stage reads token ids, not an input activation");
        }
        prepareForward(ctx, mb);
        BlockContext first = ctx.blocks.get(0);
        if (first.input == null) {
            first.input = first.memory().untilP2(mb.rows(), config.dim());
        }
        return first.input;
    }

    private void prepareForward(StageContext ctx, MicroBatch mb) {
        if (ctx.phase != StageContext.Phase.EMPTY) {
            throw new IllegalStateException("micro-batch " + mb.index() + ": the context still holds micro-batch "
                    + ctx.microBatch.index() + " (phase " + ctx.phase + "); finish its backward (and p2) or call"
                    + " releaseAll() first");
        }
        if (mb.seqLen() > config.seqLen()) {
            throw new IllegalArgumentException("micro-batch " + mb.index() + " has sequences of " + mb.seqLen()
                    + " positions; the model was built for at most " + config.seqLen());
        }
        ctx.releaseInputGrad();
        ctx.microBatch = mb;
    }

    /**
     * Forward of this stage's blocks. Returns the stage output [B*T, C], or null on the last
     * stage, whose loss and accuracy are then in {@code ctx}.
     */
    public Tensor forward(StageContext ctx, MicroBatch mb) {
        if (!isFirstStage()) {
            if (ctx.microBatch != mb || ctx.blocks.get(0).input == null) {
                throw new IllegalStateException("micro-batch " + mb.index() + ": fill inputBuffer(ctx, mb) with the"
                        + " received activation before forward on a stage that is not the first");
            }
        } else {
            prepareForward(ctx, mb);
        }
        int n = mb.rows();
        int c = config.dim();
        Tensor x = isFirstStage() ? null : ctx.blocks.get(0).input;
        for (int i = 0; i < blocks.size(); i++) {
            BlockContext bc = ctx.blocks.get(i);
            bc.microBatch = mb;
            Tensor y;
            if (i + 1 < blocks.size()) {
                BlockContext next = ctx.blocks.get(i + 1);
                y = next.memory().untilP2(n, c);
                next.input = y;
            } else if (!isLastStage()) {
                y = backend.allocate(MemoryCategory.ACTIVATIONS, n, c);
                ctx.output = y;
            } else {
                y = null;
            }
            blocks.get(i).forward(mb, x, y, bc);
            x = y;
        }
        if (isLastStage()) {
            HeadBlock.Context head = (HeadBlock.Context) ctx.blocks.get(blocks.size() - 1);
            ctx.lossSum = head.loss.lossSum;
            ctx.scored = head.loss.scored;
            ctx.correct = head.loss.correct;
            ctx.answersScored = head.answersScored;
            ctx.answersCorrect = head.answersCorrect;
        }
        ctx.phase = StageContext.Phase.FORWARD_DONE;
        return ctx.output;
    }

    /** Not on the last stage: the buffer [B*T, C] to fill with the received output-gradient before backward. */
    public Tensor outputGradBuffer(StageContext ctx) {
        if (isLastStage()) {
            throw new IllegalStateException("the last stage starts backward from its loss; it receives no gradient");
        }
        requirePhase(ctx, StageContext.Phase.FORWARD_DONE, "outputGradBuffer");
        BlockContext last = ctx.blocks.get(blocks.size() - 1);
        if (last.outputGrad == null) {
            last.outputGrad = last.memory().gradUntilP2(ctx.microBatch.rows(), config.dim());
        }
        return last.outputGrad;
    }

    /** p1 (backward-input) of every block; returns the input-gradient to send upstream (null on the first stage). */
    public Tensor backwardInput(StageContext ctx) {
        return backward(ctx, false);
    }

    /** The fused backward without 2BP: per layer, p1 immediately followed by p2. */
    public Tensor backward(StageContext ctx) {
        return backward(ctx, true);
    }

    private Tensor backward(StageContext ctx, boolean fused) {
        requirePhase(ctx, StageContext.Phase.FORWARD_DONE, fused ? "backward" : "backwardInput");
        MicroBatch mb = ctx.microBatch;
        ctx.releaseOutput();
        int n = mb.rows();
        int c = config.dim();
        for (BlockContext bc : ctx.blocks) {
            bc.memory().setFused(fused);
        }
        Tensor dy;
        if (isLastStage()) {
            dy = null;
        } else {
            dy = ctx.blocks.get(blocks.size() - 1).outputGrad;
            if (dy == null) {
                throw new IllegalStateException("micro-batch " + mb.index() + ": fill outputGradBuffer(ctx) with the"
                        + " received gradient before backward on a stage that is not the last");
            }
        }
        for (int i = blocks.size() - 1; i >= 0; i--) {
            BlockContext bc = ctx.blocks.get(i);
            Tensor dx;
            if (i > 0) {
                BlockContext prev = ctx.blocks.get(i - 1);
                dx = prev.memory().gradUntilP2(n, c);
                prev.outputGrad = dx;
            } else if (!isFirstStage()) {
                dx = backend.allocate(MemoryCategory.ACTIVATIONS, n, c);
                ctx.inputGrad = dx;
            } else {
                dx = null;
            }
            blocks.get(i).backwardInput(dy, dx, fused, bc);
            if (fused) {
                release(bc);
            } else {
                bc.memory().releaseAfterP1();
            }
            dy = dx;
        }
        ctx.phase = fused ? StageContext.Phase.EMPTY : StageContext.Phase.P1_DONE;
        return ctx.inputGrad;
    }

    /**
     * p2 (backward-weight) of one or several micro-batches whose p1 is done: for every weight
     * matrix, their stashed inputs and output-gradients are concatenated along the rows and the
     * gradient is one GEMM. Frees the stash; the contexts are then empty.
     */
    public void backwardWeight(List<StageContext> ctxs) {
        if (ctxs.isEmpty()) {
            return;
        }
        for (StageContext ctx : ctxs) {
            requirePhase(ctx, StageContext.Phase.P1_DONE, "backwardWeight");
        }
        for (int i = blocks.size() - 1; i >= 0; i--) {
            List<BlockContext> list = new ArrayList<>(ctxs.size());
            for (StageContext ctx : ctxs) {
                list.add(ctx.blocks.get(i));
            }
            blocks.get(i).backwardWeight(list);
            for (BlockContext bc : list) {
                release(bc);
            }
        }
        for (StageContext ctx : ctxs) {
            ctx.phase = StageContext.Phase.EMPTY;
        }
    }

    /** p2 of one micro-batch. */
    public void backwardWeight(StageContext ctx) {
        backwardWeight(List.of(ctx));
    }

    private static void release(BlockContext bc) {
        bc.memory().releaseAll();
        bc.input = null;
        bc.outputGrad = null;
    }

    private static void requirePhase(StageContext ctx, StageContext.Phase want, String what) {
        if (ctx.phase != want) {
            String mb = ctx.microBatch == null ? "" : "micro-batch " + ctx.microBatch.index() + ": ";
            throw new IllegalStateException(mb + what + " needs a context in phase " + want + ", but it is in "
                    + ctx.phase + " (order per micro-batch: forward, backwardInput, backwardWeight; or forward,"
                    + " backward)");
        }
    }
}
