package org.twobp.worker.layers;

import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.Tensor;

/**
 * Softmax cross-entropy over the vocabulary, with ignored targets (-1).
 * Legend: logits [N, V]; targets [N].
 * <ul>
 *   <li>forward: the logits become probabilities in place; the per-row losses and hits are
 *       summed on the host (loss sum, scored rows, correct rows).</li>
 *   <li>p1: in place, probabilities become {@code dlogits = scale * (p - onehot(target))}, where
 *       scale is the weight of one token in the batch's mean (1 / scored tokens of the whole
 *       batch); rows with target -1 get 0. No parameters, no p2.</li>
 * </ul>
 */
public final class SoftmaxCrossEntropy implements Layer {

    /** What p1 needs, and the micro-batch's metrics. */
    public static final class Context {
        /** Probabilities [N, V] (the logits buffer), turned into dlogits by p1. */
        public Tensor probs;
        public int[] targets;
        public int offset;
        /** Sum of the losses of the scored rows. */
        public double lossSum;
        public int scored;
        public int correct;
        /** Per row: 1 when the arg-max is the (scored) target. */
        public float[] rowCorrect;
        float[] rowLoss;
    }

    private final String name;

    public SoftmaxCrossEntropy(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Parameter> parameters() {
        return List.of();
    }

    /** Loss of the logits (turned into probabilities in place) against {@code targets[offset .. offset+N)}. */
    public void forward(Backend be, ContextMemory mem, Tensor logits, int[] targets, int offset, Context ctx) {
        int n = logits.rows();
        ctx.probs = logits;
        ctx.targets = targets;
        ctx.offset = offset;
        Tensor losses = mem.untilP1(n);
        Tensor hits = mem.untilP1(n);
        be.crossEntropyForward(logits, targets, offset, losses, hits);
        if (ctx.rowLoss == null || ctx.rowLoss.length != n) {
            ctx.rowLoss = new float[n];
            ctx.rowCorrect = new float[n];
        }
        be.copyToHost(losses, ctx.rowLoss, 0);
        be.copyToHost(hits, ctx.rowCorrect, 0);
        double sum = 0;
        int scored = 0;
        int correct = 0;
        for (int r = 0; r < n; r++) {
            if (targets[offset + r] >= 0) {
                sum += ctx.rowLoss[r];
                scored++;
                correct += ctx.rowCorrect[r] > 0.5f ? 1 : 0;
            }
        }
        ctx.lossSum = sum;
        ctx.scored = scored;
        ctx.correct = correct;
    }

    /** p1: probabilities become dlogits, in place. */
    public void backwardInput(Backend be, float scale, Context ctx) {
        be.crossEntropyBackward(ctx.probs, ctx.targets, ctx.offset, scale);
    }
}
