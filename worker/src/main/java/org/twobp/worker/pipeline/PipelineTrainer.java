package org.twobp.worker.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.twobp.datasets.Batch;
import org.twobp.mpi.ReduceOp;
import org.twobp.mpi.Transport;
import org.twobp.mpi.TransportException;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.OpKind;
import org.twobp.worker.model.MicroBatch;
import org.twobp.worker.model.Model;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.model.StageContext;
import org.twobp.worker.optim.GradClip;
import org.twobp.worker.optim.LrSchedule;
import org.twobp.worker.optim.Optimizer;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.train.TrainConfig;

/**
 * Pipeline-parallel training on one rank: this rank's stages of the model, its action list,
 * and the step that ties them together — micro-batches through the schedule, then a global
 * gradient norm (all-reduce over stages), clipping and the optimizer step after the last p2.
 * The flush is synchronous, so the maths equals non-pipelined training of the same batch.
 */
public final class PipelineTrainer {

    private final Transport transport;
    private final ModelConfig modelConfig;
    private final TrainConfig train;
    private final PipelineConfig pipeline;
    private final Backend backend;
    private final Schedule schedule;
    private final PipelinePlan plan;
    private final Map<Integer, Model> models = new LinkedHashMap<>();
    private final Map<Integer, Optimizer> optimizers = new LinkedHashMap<>();
    private final LrSchedule lrSchedule;
    private final org.twobp.worker.optim.LossScaler lossScaler;
    private final StageExecutor executor;
    private final int microBatchSize;
    private int step;

    public PipelineTrainer(Transport transport, ModelConfig modelConfig, TrainConfig train, PipelineConfig pipeline,
                           Backend backend, FaultInjection fault) {
        this(transport, modelConfig, train, pipeline, backend, fault, null);
    }

    /**
     * With {@code schedule} given (lowered or compute-only, e.g. from the automatic scheduler) it
     * runs instead of the one {@code pipeline} names; every rank must pass the same one.
     */
    public PipelineTrainer(Transport transport, ModelConfig modelConfig, TrainConfig train, PipelineConfig pipeline,
                           Backend backend, FaultInjection fault, Schedule schedule) {
        this.transport = transport;
        this.modelConfig = modelConfig;
        this.train = train;
        this.pipeline = pipeline;
        this.backend = backend;
        int ranks = transport.size();
        this.microBatchSize = train.microBatchSize();
        this.plan = PipelinePlan.of(modelConfig, train, pipeline, ranks, schedule);
        this.schedule = plan.schedule();
        int[] cuts = plan.cuts();
        for (int stage : this.schedule.placement().stagesOf(transport.rank())) {
            Model model = Model.create(modelConfig, backend, cuts[stage], cuts[stage + 1]);
            models.put(stage, model);
            optimizers.put(stage, train.newOptimizer(backend, model.parameters()));
        }
        this.lrSchedule = train.lrSchedule();
        this.lossScaler = train.newLossScaler();
        this.executor = new StageExecutor(transport, this.schedule, models, backend, microBatchSize * modelConfig.seqLen(),
                modelConfig.dim(), fault);
    }

    public Schedule schedule() {
        return schedule;
    }

    /** Sequences per step: micro-batches x sequences per micro-batch. */
    public int globalBatchSize() {
        return schedule.microbatches() * microBatchSize;
    }

    public Map<Integer, Model> models() {
        return models;
    }

    /** The schedule and stage cuts this rank runs. */
    public PipelinePlan plan() {
        return plan;
    }

    public Backend backend() {
        return backend;
    }

    /** One optimizer step on {@code batch}, which every rank reads identically. */
    public PipelineStepResult step(Batch batch) {
        if (batch.batchSize() != globalBatchSize()) {
            throw new IllegalArgumentException("step " + step + ": batch of " + batch.batchSize() + " sequences, the"
                    + " schedule needs " + globalBatchSize() + " (" + schedule.microbatches() + " micro-batches of "
                    + microBatchSize + ")");
        }
        long t0 = System.nanoTime();
        long gemmFlops0 = backend.stats().flops(OpKind.GEMM);
        int m = schedule.microbatches();
        int scoredTotal = batch.scoredTargets();
        float scale = lossScaler.scale();
        float lossScale = scoredTotal == 0 ? 0f : scale / scoredTotal;
        List<MicroBatch> mbs = new ArrayList<>(m);
        for (int i = 0; i < m; i++) {
            Batch part = batch.microBatch(i, m);
            mbs.add(new MicroBatch(i, part.batchSize(), part.seqLen(), part.inputs(), part.targets(), lossScale));
        }
        for (Model model : models.values()) {
            model.zeroGrads();
        }
        List<ActionTiming> timings = executor.run(step, mbs, t0);

        long opt0 = System.nanoTime();
        double[] sums = new double[3];
        for (Model model : models.values()) {
            sums[0] += GradClip.sumOfSquares(backend, model.parameters());
        }
        Model last = models.get(schedule.stages() - 1);
        if (last != null) {
            for (StageContext ctx : executor.contexts(schedule.stages() - 1)) {
                sums[1] += ctx.lossSum();
                sums[2] += ctx.correctTargets();
            }
        }
        long busyBeforeReduce = System.nanoTime() - opt0;
        allreduce(sums, ReduceOp.SUM, "the all-reduce of gradient norm and loss");
        long opt1 = System.nanoTime();
        double norm = Math.sqrt(sums[0]) / scale;
        double lr = lrSchedule.at(step);
        if (lossScaler.update(sums[0])) {
            float clip = GradClip.scale(norm, train.gradClip());
            for (Optimizer o : optimizers.values()) {
                o.step((float) lr, clip / scale);
            }
        } else if (transport.rank() == 0) {
            System.err.println("[twobp] step " + (step + 1) + ": float16 gradients overflowed at loss scale " + scale
                    + "; step skipped, loss scale now " + lossScaler.scale());
        }
        long t1 = System.nanoTime();
        long busy = busyBeforeReduce + (t1 - opt1);
        for (ActionTiming t : timings) {
            busy += t.computeNanos();
        }
        long stepNanos = t1 - t0;
        double bubble = Math.max(0, 1 - (double) busy / stepNanos);
        double[] max = {stepNanos, bubble, backend.memory().peakTotal(), busyBeforeReduce + (t1 - opt1)};
        allreduce(max, ReduceOp.MAX, "the all-reduce of step times and memory");
        double[] mean = {bubble};
        allreduce(mean, ReduceOp.SUM, "the all-reduce of bubble ratios");
        PipelineStepResult r = new PipelineStepResult(step, scoredTotal == 0 ? 0 : sums[1] / scoredTotal, scoredTotal,
                (long) sums[2], lr, norm, batch.tokens(), (long) max[0], mean[0] / transport.size(), max[1],
                (long) max[2], (long) max[3], stepNanos, busy, backend.stats().flops(OpKind.GEMM) - gemmFlops0, timings);
        step++;
        return r;
    }

    /** An all-reduce of this step; one that times out or is cut short says so, with the step. */
    private void allreduce(double[] values, ReduceOp op, String what) {
        try {
            transport.allreduce(values, op);
        } catch (TransportException e) {
            StalledWait stalled = StalledWait.of(transport.rank(), executor.soleStage(), step + 1, what, -1, "", e);
            if (stalled != null) {
                throw new PipelineException(stalled, e);
            }
            throw e;
        }
    }

    public int stepsDone() {
        return step;
    }

    /** The dynamic loss scale (fp16) or the fixed scale 1. */
    public org.twobp.worker.optim.LossScaler lossScaler() {
        return lossScaler;
    }

    /** Continues from a checkpoint: the next step is {@code steps} (counted from 0). */
    public void setStepsDone(int steps) {
        this.step = steps;
    }

    /** This rank's optimizers by stage. */
    public Map<Integer, Optimizer> optimizers() {
        return optimizers;
    }

    public TrainConfig train() {
        return train;
    }

    public PipelineConfig pipeline() {
        return pipeline;
    }

    public ModelConfig modelConfig() {
        return modelConfig;
    }
}
