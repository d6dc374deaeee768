package org.twobp.worker.schedule.sim;

import org.twobp.worker.schedule.Action;

/** One action of a simulated (or measured) timeline: slot = its position in the rank's list. */
public record TimedAction(Action action, int slot, double start, double end) {
    public double duration() {
        return end - start;
    }
}
