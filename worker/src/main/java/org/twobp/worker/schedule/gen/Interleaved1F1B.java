package org.twobp.worker.schedule.gen;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.Placement;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.ScheduleException;

/**
 * Interleaved 1F1B (Megatron-LM): each rank holds V chunks (stage c * P + r on rank r), and
 * micro-batches advance through a rank's chunks in groups of P, so the warm-up bubble shrinks by
 * a factor V at the price of V times more messages. Rank r warms up with 2 (P - r - 1) + (V - 1) P
 * forwards. Needs M to be a multiple of P so that the groups of P fill evenly.
 *
 * <p>2BP placement as for 1F1B: p1 only in the steady state, the oldest pending p2 before each
 * cool-down p1, then one concatenated p2 per chunk.
 */
public final class Interleaved1F1B {
    private Interleaved1F1B() {
    }

    public static Schedule split(int ranks, int microbatches, int chunks) {
        if (chunks < 1) {
            throw new ScheduleException("interleaved 1F1B needs at least one chunk per rank, got " + chunks);
        }
        if (microbatches % ranks != 0) {
            throw new ScheduleException("interleaved 1F1B needs the number of micro-batches (" + microbatches
                    + ") to be a multiple of the number of ranks (" + ranks + "); try --microbatches "
                    + ((microbatches / ranks) + 1) * ranks);
        }
        int total = microbatches * chunks;
        List<List<Action>> actions = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            List<Action> list = new ArrayList<>();
            PendingWeights pending = new PendingWeights();
            int warmup = Math.min(2 * (ranks - r - 1) + (chunks - 1) * ranks, total);
            for (int k = 0; k < warmup; k++) {
                list.add(Action.forward(stage(k, r, ranks, chunks, false), microbatch(k, ranks, chunks)));
            }
            for (int k = 0; k < total; k++) {
                boolean coolDown = warmup + k >= total;
                if (!coolDown) {
                    int f = warmup + k;
                    list.add(Action.forward(stage(f, r, ranks, chunks, false), microbatch(f, ranks, chunks)));
                } else if (!pending.isEmpty()) {
                    list.add(pending.oldest());
                }
                int stage = stage(k, r, ranks, chunks, true);
                int mb = microbatch(k, ranks, chunks);
                list.add(Action.backwardInput(stage, mb));
                pending.add(stage, mb);
            }
            list.addAll(pending.drainConcatenated());
            actions.add(list);
        }
        return new Schedule("Interleaved 1F1B (V=" + chunks + ")", Placement.loop(ranks, chunks), microbatches,
                actions);
    }

    /** The k-th forward (or backward) of a rank works on this chunk's stage. */
    private static int stage(int k, int rank, int ranks, int chunks, boolean backward) {
        int chunk = (k / ranks) % chunks;
        if (backward) {
            chunk = chunks - 1 - chunk;
        }
        return chunk * ranks + rank;
    }

    private static int microbatch(int k, int ranks, int chunks) {
        return (k / (ranks * chunks)) * ranks + k % ranks;
    }
}
