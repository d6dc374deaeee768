package org.twobp.worker.model;

import java.util.List;
import org.twobp.worker.layers.ContextMemory;
import org.twobp.worker.tensor.Tensor;

/**
 * Everything a stage keeps for one in-flight micro-batch: one {@link BlockContext} per block,
 * the stage's output (to send downstream) and input-gradient (to send upstream), and, on the
 * last stage, the micro-batch's loss and accuracy.
 *
 * <p>Life cycle: {@code forward} -> {@code backwardInput} (p1) -> {@code backwardWeight} (p2),
 * or {@code forward} -> {@code backward} (fused). After p1 the context holds exactly the stash:
 * {@link #stashBytes()} is what 2BP costs for this micro-batch on this stage. After p2
 * everything is released and the context serves the next micro-batch (its buffers come back
 * from the backend's pool).
 */
public final class StageContext {

    /** Where a context is in its life cycle. */
    public enum Phase { EMPTY, FORWARD_DONE, P1_DONE }

    final List<BlockContext> blocks;
    final ContextMemory boundary;
    MicroBatch microBatch;
    Phase phase = Phase.EMPTY;
    Tensor output;
    Tensor inputGrad;
    double lossSum;
    int scored;
    int correct;
    int answersScored;
    int answersCorrect;

    StageContext(List<BlockContext> blocks, ContextMemory boundary) {
        this.blocks = blocks;
        this.boundary = boundary;
    }

    public Phase phase() {
        return phase;
    }

    public MicroBatch microBatch() {
        return microBatch;
    }

    /** Sum of the per-token losses of the scored targets (last stage). */
    public double lossSum() {
        return lossSum;
    }

    /** Scored targets of the micro-batch (last stage). */
    public int scoredTargets() {
        return scored;
    }

    /** Scored targets predicted right (arg-max of the logits). */
    public int correctTargets() {
        return correct;
    }

    /**
     * Answers: maximal runs of consecutive scored targets in a sequence (one sum of the addition
     * task; a whole row of text, where every position is scored).
     */
    public int answersScored() {
        return answersScored;
    }

    /** Answers whose every target was predicted right (exact match). */
    public int answersCorrect() {
        return answersCorrect;
    }

    /** Mean loss over the micro-batch's scored targets. */
    public double meanLoss() {
        return scored == 0 ? 0 : lossSum / scored;
    }

    /** Keep a host copy of the logits at the next forward (last stage; for tests and inspection). */
    public void captureLogits(boolean on) {
        ((HeadBlock.Context) blocks.get(blocks.size() - 1)).captureLogits = on;
    }

    /** The captured logits [N, V] of the last forward, or null. */
    public float[] logits() {
        return ((HeadBlock.Context) blocks.get(blocks.size() - 1)).logits;
    }

    /** Bytes held now for this micro-batch (all blocks and the boundary tensors). */
    public long bytesHeld() {
        long n = boundary.bytesHeld();
        for (BlockContext b : blocks) {
            n += b.memory().bytesHeld();
        }
        return n;
    }

    /** Bytes held until p2: after p1, the stash of this micro-batch. */
    public long stashBytes() {
        long n = 0;
        for (BlockContext b : blocks) {
            n += b.memory().stashBytes();
        }
        return n;
    }

    /** Per block, for tests and cost calibration. */
    public List<BlockContext> blockContexts() {
        return blocks;
    }

    /** The stage's output has been sent: free it now rather than with the next backward. */
    public void releaseOutput() {
        if (output != null) {
            boundary.backend().free(output);
            output = null;
        }
    }

    /** The input-gradient has been sent: free it now rather than with the next forward. */
    public void releaseInputGrad() {
        if (inputGrad != null) {
            boundary.backend().free(inputGrad);
            inputGrad = null;
        }
    }

    /** Drops everything (e.g. an aborted step); the context is then empty. */
    public void releaseAll() {
        releaseOutput();
        releaseInputGrad();
        for (BlockContext b : blocks) {
            b.memory().releaseAll();
            b.input = null;
            b.outputGrad = null;
        }
        phase = Phase.EMPTY;
    }
}
