package org.twobp.worker.pipeline;

import java.util.List;

import org.twobp.worker.model.BlockCost;
import org.twobp.worker.model.Model;
import org.twobp.worker.schedule.Schedule;

/**
 * What a run on {@code ranks} ranks will do, worked out without allocating anything: the
 * validated schedule and where the model is cut. Launchers call it to reject a bad run (more
 * stages than blocks, a batch the schedule cannot split) before starting any process.
 */
public record PipelinePlan(Schedule schedule, int[] cuts, List<BlockCost> costs) {

    public static PipelinePlan of(RunConfig cfg, int ranks) {
        if (ranks < 1) {
            throw new IllegalArgumentException("a run needs at least one rank, got " + ranks);
        }
        PipelineConfig p = cfg.pipeline();
        Schedule schedule = p.family().build(ranks, p.microbatches(ranks), p.twoBp(), p.chunksPerRank(),
                p.stashCap(ranks));
        List<BlockCost> costs = Model.costs(cfg.model(), cfg.train().microBatchSize(), cfg.model().seqLen());
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
