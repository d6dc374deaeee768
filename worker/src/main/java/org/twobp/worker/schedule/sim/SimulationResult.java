package org.twobp.worker.schedule.sim;

import java.util.List;
import org.twobp.worker.schedule.Schedule;

/**
 * What a simulation found: per-rank timeline, makespan, idle time and peak stash.
 *
 * <p>Bubble ratio = idle / total = 1 - busy / (ranks * makespan), where busy is compute time (F,
 * I, W, B and the optimizer step). Idle splits into fill (before a rank's first compute), drain
 * (after its last compute until the makespan) and steady-state bubbles (gaps in between).
 * Peak stash counts micro-batches whose activations (and, with 2BP, output-gradients) are alive on
 * a rank: from the start of their F until the end of the B or W that frees them; a chunk of a
 * rank holding V chunks counts 1/V.
 */
public record SimulationResult(
        Schedule schedule,
        List<List<TimedAction>> timeline,
        double makespan,
        double[] busy,
        double[] peakStashMicrobatches,
        double[] peakStashBytes) {

    public int ranks() {
        return timeline.size();
    }

    public double idle(int rank) {
        return makespan - busy[rank];
    }

    public double totalIdle() {
        double idle = 0;
        for (int r = 0; r < ranks(); r++) {
            idle += idle(r);
        }
        return idle;
    }

    /** Idle / total over all ranks. */
    public double bubbleRatio() {
        return makespan == 0 ? 0 : totalIdle() / (ranks() * makespan);
    }

    /** Idle time between a rank's first and last compute action: the steady-state bubble. */
    public double steadyStateBubble(int rank) {
        List<TimedAction> compute = timeline.get(rank).stream().filter(t -> t.action().isCompute()).toList();
        if (compute.isEmpty()) {
            return 0;
        }
        double span = compute.get(compute.size() - 1).end() - compute.get(0).start();
        double work = compute.stream().mapToDouble(TimedAction::duration).sum();
        return span - work;
    }

    public double maxPeakStash() {
        double max = 0;
        for (double v : peakStashMicrobatches) {
            max = Math.max(max, v);
        }
        return max;
    }

    public double maxPeakStashBytes() {
        double max = 0;
        for (double v : peakStashBytes) {
            max = Math.max(max, v);
        }
        return max;
    }
}
