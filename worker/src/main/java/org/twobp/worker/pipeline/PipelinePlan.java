package org.twobp.worker.pipeline;

import java.util.List;

import org.twobp.worker.model.BlockCost;
import org.twobp.worker.model.Model;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.schedule.Lowering;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.ScheduleValidator;
import org.twobp.worker.train.TrainConfig;

/**
 * What a run on {@code ranks} ranks will do, worked out without allocating anything: the
 * validated schedule and where the model is cut. Launchers call it to reject a bad run (more
 * stages than blocks, a batch the schedule cannot split) before starting any process.
 */
public record PipelinePlan(Schedule schedule, int[] cuts, List<BlockCost> costs) {

    public static PipelinePlan of(RunConfig cfg, int ranks) {
        return of(cfg.model(), cfg.train(), cfg.pipeline(), ranks, null);
    }

    /**
     * With {@code explicit} given (lowered or compute-only, e.g. from the automatic scheduler) it
     * is validated and used instead of the schedule {@code p} names.
     */
    public static PipelinePlan of(ModelConfig model, TrainConfig train, PipelineConfig p, int ranks, Schedule explicit) {
        if (ranks < 1) {
            throw new IllegalArgumentException("a run needs at least one rank, got " + ranks);
        }
        Schedule schedule;
        if (explicit == null) {
            schedule = p.family().build(ranks, p.microbatches(ranks), p.twoBp(), p.chunksPerRank(), p.stashCap(ranks));
        } else {
            if (explicit.ranks() != ranks) {
                throw new IllegalArgumentException("schedule '" + explicit.name() + "' is for " + explicit.ranks()
                        + " ranks, the job has " + ranks);
            }
            schedule = ScheduleValidator.validate(explicit.hasCommunication() ? explicit
                    : Lowering.addCommunication(explicit));
        }
        List<BlockCost> costs = Model.costs(model, train.microBatchSize(), model.seqLen());
        int[] cuts = Partitioner.cut(p.partition(), costs, schedule.stages());
        return new PipelinePlan(schedule, cuts, costs);
    }

    /** One line per stage: blocks, share of the FLOPs, rank. */
    public List<String> describe() {
        List<String> lines = new java.util.ArrayList<>();
        List<String> stages = Partitioner.describe(cuts, costs);
        for (int s = 0; s < stages.size(); s++) {
            lines.add(stages.get(s) + "  -> rank " + schedule.placement().rankOf(s));
        }
        return lines;
    }
}
