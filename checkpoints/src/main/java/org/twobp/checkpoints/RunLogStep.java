package org.twobp.checkpoints;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One training step as a rank's run log records it: named scalar metrics (loss, step time,
 * tokens per second, bubble, memory by category...) and the step's measured timeline.
 */
public record RunLogStep(long step, Map<String, Double> metrics, List<Action> actions) {

    /**
     * One timed action: {@code kind} is the schedule's symbol (F, I, W, B), micro-batches
     * {@code firstMicrobatch .. firstMicrobatch + microbatches - 1}; times in nanoseconds from the
     * step's start, {@code waitNanos} of it spent waiting for a peer.
     */
    public record Action(String kind, int stage, int firstMicrobatch, int microbatches, long startNanos, long endNanos,
                         long waitNanos) {
    }

    public RunLogStep {
        metrics = new LinkedHashMap<>(metrics);
        actions = List.copyOf(actions);
    }
}
