package org.twobp.worker.schedule.gen;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.MicroBatches;

/**
 * The p2 work a rank still owes: micro-batches whose p1 ran but whose p2 did not, oldest first.
 * Their stashes stay alive until the p2 runs, so generators drain this queue to bound memory.
 */
final class PendingWeights {
    private record Pending(int stage, int microbatch) {
    }

    private final Deque<Pending> queue = new ArrayDeque<>();

    void add(int stage, int microbatch) {
        queue.addLast(new Pending(stage, microbatch));
    }

    boolean isEmpty() {
        return queue.isEmpty();
    }

    int size() {
        return queue.size();
    }

    /** p2 of the oldest pending micro-batch, which frees its stash first. */
    Action oldest() {
        Pending p = queue.removeFirst();
        return Action.backwardWeight(p.stage(), p.microbatch());
    }

    /**
     * One concatenated p2 per stage over everything pending, in the order the stages' oldest
     * micro-batches arrived: the end-of-step p2 of 2BP.
     */
    List<Action> drainConcatenated() {
        Map<Integer, List<Integer>> byStage = new LinkedHashMap<>();
        for (Pending p : queue) {
            byStage.computeIfAbsent(p.stage(), s -> new ArrayList<>()).add(p.microbatch());
        }
        queue.clear();
        List<Action> out = new ArrayList<>();
        for (Map.Entry<Integer, List<Integer>> e : byStage.entrySet()) {
            out.add(Action.backwardWeight(e.getKey(), MicroBatches.of(e.getValue())));
        }
        return out;
    }

    /** The oldest {@code n} micro-batches of one stage as one concatenated p2 (V = 1 schedules). */
    Action oldestConcatenated(int n) {
        List<Integer> mbs = new ArrayList<>();
        int stage = queue.peekFirst().stage();
        for (int k = 0; k < n; k++) {
            mbs.add(queue.removeFirst().microbatch());
        }
        return Action.backwardWeight(stage, MicroBatches.of(mbs));
    }
}
