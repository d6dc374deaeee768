package org.twobp.worker.pipeline;

import org.twobp.worker.schedule.Action;

/**
 * When one action of a step ran on this rank, in nanoseconds from the step's start;
 * {@code waitNanos} is the part spent waiting for a peer's data, not computing.
 */
public record ActionTiming(Action action, long startNanos, long endNanos, long waitNanos) {

    public long computeNanos() {
        return endNanos - startNanos - waitNanos;
    }
}
