package org.twobp.worker.schedule.gen;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.MicroBatches;
import org.twobp.worker.schedule.Placement;
import org.twobp.worker.schedule.Schedule;

/**
 * Naive model parallelism: no pipelining. The batch (M = 1 in the paper) goes forward through
 * every stage, then backward. With 2BP each stage sends its input-gradient upstream right after
 * p1 and runs its p2 at the end of the step, overlapping the upstream stages' p1. With M > 1 the
 * micro-batches run one after another (gradient accumulation) and the p2 of all of them is
 * concatenated at the end.
 */
public final class Naive {
    private Naive() {
    }

    public static Schedule split(int ranks, int microbatches) {
        List<List<Action>> actions = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            List<Action> list = new ArrayList<>();
            for (int mb = 0; mb < microbatches; mb++) {
                list.add(Action.forward(r, mb));
                list.add(Action.backwardInput(r, mb));
            }
            list.add(Action.backwardWeight(r, MicroBatches.range(0, microbatches - 1)));
            actions.add(list);
        }
        return new Schedule("Naive", Placement.oneStagePerRank(ranks), microbatches, actions);
    }
}
