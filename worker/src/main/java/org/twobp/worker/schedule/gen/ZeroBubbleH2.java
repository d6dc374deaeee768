package org.twobp.worker.schedule.gen;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.Placement;
import org.twobp.worker.schedule.Schedule;

/**
 * ZB-H2 (Qi et al.): rank r warms up with 2 (P - r) - 1 forwards, which fill the time until its
 * first output-gradient arrives, then repeats p1, forward, p2 with its p2 lagging by 2r
 * micro-batches; the lagging p2 fill the time after its last p1. With F = p1 = p2 and
 * M >= 2P - 1 every rank computes without a gap from its first action to its last (a
 * parallelogram): zero steady-state bubble, at the price of up to 2P - 1 live stashes.
 */
public final class ZeroBubbleH2 {
    private ZeroBubbleH2() {
    }

    public static Schedule split(int ranks, int microbatches) {
        List<List<Action>> actions = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            List<Action> list = new ArrayList<>();
            PendingWeights pending = new PendingWeights();
            int warmup = Math.min(2 * (ranks - r) - 1, microbatches);
            int forwarded = 0;
            int backwarded = 0;
            while (forwarded < warmup) {
                list.add(Action.forward(r, forwarded++));
            }
            while (backwarded < microbatches) {
                list.add(Action.backwardInput(r, backwarded));
                pending.add(r, backwarded++);
                if (forwarded < microbatches) {
                    list.add(Action.forward(r, forwarded++));
                }
                if (pending.size() > 2 * r) {
                    list.add(pending.oldest());
                }
            }
            while (!pending.isEmpty()) {
                list.add(pending.oldest());
            }
            actions.add(list);
        }
        return new Schedule("ZB-H2", Placement.oneStagePerRank(ranks), microbatches, actions);
    }
}
