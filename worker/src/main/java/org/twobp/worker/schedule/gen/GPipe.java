package org.twobp.worker.schedule.gen;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.MicroBatches;
import org.twobp.worker.schedule.Placement;
import org.twobp.worker.schedule.Schedule;

/**
 * GPipe: every rank forwards all M micro-batches, then backwards them in the same order. With 2BP
 * all p1 run first, so gradients flow upstream without waiting for weight gradients, and one p2
 * over all M micro-batches concatenated ends the step.
 */
public final class GPipe {
    private GPipe() {
    }

    public static Schedule split(int ranks, int microbatches) {
        List<List<Action>> actions = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            List<Action> list = new ArrayList<>();
            for (int mb = 0; mb < microbatches; mb++) {
                list.add(Action.forward(r, mb));
            }
            for (int mb = 0; mb < microbatches; mb++) {
                list.add(Action.backwardInput(r, mb));
            }
            list.add(Action.backwardWeight(r, MicroBatches.range(0, microbatches - 1)));
            actions.add(list);
        }
        return new Schedule("GPipe", Placement.oneStagePerRank(ranks), microbatches, actions);
    }
}
