package org.twobp.worker.train;

import java.util.ArrayList;
import java.util.List;
import org.twobp.datasets.Batch;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.OpKind;
import org.twobp.worker.model.MicroBatch;
import org.twobp.worker.model.Model;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.model.StageContext;
import org.twobp.worker.optim.GradClip;
import org.twobp.worker.optim.LrSchedule;
import org.twobp.worker.optim.Optimizer;

/**
 * Single-process training: the whole model on one backend, one optimizer step per global batch.
 * With {@code backward = split} each micro-batch runs forward and p1, and one p2 over all
 * micro-batches follows (the 2BP path: concatenated weight-gradient GEMMs); with {@code fused}
 * each micro-batch runs forward and the fused backward. Both give the same gradients.
 */
public final class Trainer {

    private final Model model;
    private final TrainConfig train;
    private final Optimizer optimizer;
    private final LrSchedule schedule;
    private final org.twobp.worker.optim.LossScaler lossScaler;
    private final List<StageContext> contexts = new ArrayList<>();
    private int step;

    public Trainer(ModelConfig config, TrainConfig train, Backend backend) {
        this.model = Model.create(config, backend);
        this.train = train;
        this.optimizer = train.newOptimizer(backend, model.parameters());
        this.schedule = train.lrSchedule();
        this.lossScaler = train.newLossScaler();
        int needed = "split".equals(train.backward()) ? train.microBatches() : 1;
        for (int i = 0; i < needed; i++) {
            contexts.add(model.newContext());
        }
    }

    public Model model() {
        return model;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    public int stepsDone() {
        return step;
    }

    /** The dynamic loss scale (fp16) or the fixed scale 1. */
    public org.twobp.worker.optim.LossScaler lossScaler() {
        return lossScaler;
    }

    /** One optimizer step on a global batch of {@code batchSize} sequences. */
    public StepResult step(Batch batch) {
        Backend be = model.backend();
        long gemmFlops0 = be.stats().flops(OpKind.GEMM);
        long gemmNanos0 = be.stats().nanos(OpKind.GEMM);
        long t0 = System.nanoTime();
        int m = train.microBatches();
        int scoredTotal = batch.scoredTargets();
        float scale = lossScaler.scale();
        float lossScale = scoredTotal == 0 ? 0f : scale / scoredTotal;
        boolean split = "split".equals(train.backward());
        model.zeroGrads();
        double lossSum = 0;
        int correct = 0;
        int answers = 0;
        int answersRight = 0;
        for (int i = 0; i < m; i++) {
            Batch part = m == 1 ? batch : batch.microBatch(i, m);
            MicroBatch mb = new MicroBatch(i, part.batchSize(), part.seqLen(), part.inputs(), part.targets(),
                    lossScale);
            StageContext ctx = contexts.get(split ? i : 0);
            model.forward(ctx, mb);
            lossSum += ctx.lossSum();
            correct += ctx.correctTargets();
            answers += ctx.answersScored();
            answersRight += ctx.answersCorrect();
            if (split) {
                model.backwardInput(ctx);
            } else {
                model.backward(ctx);
            }
        }
        if (split) {
            model.backwardWeight(contexts);
        }
        double sumOfSquares = GradClip.sumOfSquares(be, model.parameters());
        double norm = Math.sqrt(sumOfSquares) / scale;
        double lr = schedule.at(step);
        if (lossScaler.update(sumOfSquares)) {
            optimizer.step((float) lr, GradClip.scale(norm, train.gradClip()) / scale);
        }
        long nanos = System.nanoTime() - t0;
        StepResult r = new StepResult(step, scoredTotal == 0 ? 0 : lossSum / scoredTotal, scoredTotal, correct,
                answers, answersRight, lr, norm, batch.tokens(), nanos,
                be.stats().flops(OpKind.GEMM) - gemmFlops0, be.stats().nanos(OpKind.GEMM) - gemmNanos0);
        step++;
        return r;
    }
}
