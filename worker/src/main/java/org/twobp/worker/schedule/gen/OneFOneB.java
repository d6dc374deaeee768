package org.twobp.worker.schedule.gen;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.Placement;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.ScheduleException;

/**
 * 1F1B (one forward, one backward). Rank r forwards P - r - 1 micro-batches as warm-up, then
 * alternates one forward with one backward, then backwards what is left (cool-down). 1F1B-1 has
 * M = P, 1F1B-2 has M = 2P.
 *
 * <p>2BP placement, as in the paper: the steady state runs p1 only; in the cool-down each p1 is
 * preceded by the p2 of the oldest pending micro-batch (it runs while the next output-gradient is
 * on its way, and frees its stash); the remaining p2 run as one concatenated call at the end.
 *
 * <p>Memory-capped variant: with {@code stashCap} = C, at most C micro-batches may have a live
 * stash on a rank (forwarded, p2 not yet done). Before a forward that would exceed C, the oldest
 * pending p2 runs; warm-up shrinks to C - 1 where C &lt; P - r. C = infinity is the paper's 2BP
 * 1F1B; small C trades p2 concatenation size (and, when a p2 call has a fixed overhead, time)
 * for peak memory.
 */
public final class OneFOneB {
    /** No cap: the paper's 2BP 1F1B. */
    public static final int UNCAPPED = Integer.MAX_VALUE;

    private OneFOneB() {
    }

    public static Schedule split(int ranks, int microbatches) {
        return split(ranks, microbatches, UNCAPPED);
    }

    public static Schedule split(int ranks, int microbatches, int stashCap) {
        if (stashCap < 1) {
            throw new ScheduleException("the stash cap must allow at least one micro-batch, got " + stashCap);
        }
        List<List<Action>> actions = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            List<Action> list = new ArrayList<>();
            PendingWeights pending = new PendingWeights();
            int warmup = Math.min(Math.min(ranks - r - 1, microbatches), stashCap - 1);
            int forwarded = 0;
            int backwarded = 0;
            int weighted = 0;
            while (forwarded < warmup) {
                list.add(Action.forward(r, forwarded++));
            }
            while (forwarded < microbatches) {
                int over = (forwarded - weighted) + 1 - stashCap;
                if (over > 0) {
                    list.add(pending.oldestConcatenated(over));
                    weighted += over;
                }
                list.add(Action.forward(r, forwarded++));
                list.add(Action.backwardInput(r, backwarded));
                pending.add(r, backwarded++);
            }
            while (backwarded < microbatches) {
                if (!pending.isEmpty()) {
                    list.add(pending.oldest());
                    weighted++;
                }
                list.add(Action.backwardInput(r, backwarded));
                pending.add(r, backwarded++);
            }
            list.addAll(pending.drainConcatenated());
            actions.add(list);
        }
        String name = stashCap == UNCAPPED ? "1F1B" : "1F1B capped (stash <= " + stashCap + ")";
        return new Schedule(name, Placement.oneStagePerRank(ranks), microbatches, actions);
    }
}
