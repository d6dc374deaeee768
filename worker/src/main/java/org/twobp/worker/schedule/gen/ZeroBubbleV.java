package org.twobp.worker.schedule.gen;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.Placement;
import org.twobp.worker.schedule.Schedule;

/**
 * ZB-V (Qi et al.): two chunks per rank in a V (rank r holds stages r and 2P - 1 - r), so the
 * turn at the bottom and the loss at the top are local to a rank. Each chunk has half a stage's
 * work. Phases of rank r, with chunk a = stage r (down) and chunk b = stage 2P - 1 - r (up):
 * 2(P - r) - 1 forwards of a; r pairs of forwards b, a; P - r rounds of b's F, p1, p2; the
 * steady state a: F, p1, p2 then b: F, p1, p2; cool-down r pairs of p1 a, p1 b, then P - r rounds
 * of a: p1, p2; then the pending p2. The pattern is built for max(M, 2P - 1) micro-batches and
 * trimmed to M; with M >= 2P - 1 and equal F, p1, p2 it has no steady-state bubble and the
 * activation memory of 1F1B.
 */
public final class ZeroBubbleV {
    private ZeroBubbleV() {
    }

    public static Schedule split(int ranks, int microbatches) {
        int stages = 2 * ranks;
        int n = Math.max(microbatches, 2 * ranks - 1);
        List<List<Action>> actions = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            Chunk down = new Chunk(r);
            Chunk up = new Chunk(stages - 1 - r);
            List<Action> list = new ArrayList<>();
            for (int k = 0; k < 2 * (ranks - r) - 1; k++) {
                down.forward(list);
            }
            for (int k = 0; k < r; k++) {
                up.forward(list);
                down.forward(list);
            }
            for (int k = 0; k < ranks - r; k++) {
                up.forward(list);
                up.backwardInput(list);
                up.backwardWeight(list);
            }
            while (up.forwarded < down.forwarded || down.forwarded < n) {
                if (down.forwarded < n) {
                    down.forward(list);
                }
                down.backwardInput(list);
                down.backwardWeight(list);
                up.forward(list);
                up.backwardInput(list);
                up.backwardWeight(list);
            }
            for (int k = 0; k < r; k++) {
                down.backwardInput(list);
                up.backwardInput(list);
            }
            for (int k = 0; k < ranks - r; k++) {
                down.backwardInput(list);
                down.backwardWeight(list);
            }
            while (up.weighted < up.backwarded) {
                up.backwardWeight(list);
            }
            while (down.weighted < down.backwarded) {
                down.backwardWeight(list);
            }
            actions.add(list.stream().filter(a -> a.microbatches().last() < microbatches).toList());
        }
        return new Schedule("ZB-V", Placement.vShape(ranks, 2), microbatches, actions);
    }

    /** Counters of one chunk: the next micro-batch to forward, to p1 and to p2. */
    private static final class Chunk {
        final int stage;
        int forwarded;
        int backwarded;
        int weighted;

        Chunk(int stage) {
            this.stage = stage;
        }

        void forward(List<Action> list) {
            list.add(Action.forward(stage, forwarded++));
        }

        void backwardInput(List<Action> list) {
            list.add(Action.backwardInput(stage, backwarded++));
        }

        void backwardWeight(List<Action> list) {
            list.add(Action.backwardWeight(stage, weighted++));
        }
    }
}
