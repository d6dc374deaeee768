package org.twobp.worker.schedule.gen;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.Placement;
import org.twobp.worker.schedule.Schedule;

/**
 * ZB-H1 (Qi et al., Zero Bubble Pipeline Parallelism): 1F1B's warm-up and in-flight limit, with
 * each rank's p2 lagging its p1 by r micro-batches. The lag lets the p1 chain run back to rank 0
 * at one step per stage, and the lagging p2 fill the cool-down, so with F = p1 = p2 the bubble is
 * a third of 1F1B's. At most P micro-batches have a live stash on any rank, as in 1F1B.
 */
public final class ZeroBubbleH1 {
    private ZeroBubbleH1() {
    }

    public static Schedule split(int ranks, int microbatches) {
        List<List<Action>> actions = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            List<Action> list = new ArrayList<>();
            PendingWeights pending = new PendingWeights();
            int warmup = Math.min(ranks - r - 1, microbatches);
            int forwarded = 0;
            int backwarded = 0;
            while (forwarded < warmup) {
                list.add(Action.forward(r, forwarded++));
            }
            while (backwarded < microbatches) {
                if (forwarded < microbatches) {
                    list.add(Action.forward(r, forwarded++));
                }
                list.add(Action.backwardInput(r, backwarded));
                pending.add(r, backwarded++);
                // Rank r keeps r p2 pending during the steady state; once forwards run out, one p2
                // follows each p1 so the pending ones fill the cool-down.
                if (pending.size() > r || forwarded == microbatches) {
                    list.add(pending.oldest());
                }
            }
            while (!pending.isEmpty()) {
                list.add(pending.oldest());
            }
            actions.add(list);
        }
        return new Schedule("ZB-H1", Placement.oneStagePerRank(ranks), microbatches, actions);
    }
}
