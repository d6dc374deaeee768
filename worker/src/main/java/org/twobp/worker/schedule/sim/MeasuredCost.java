package org.twobp.worker.schedule.sim;

import org.twobp.worker.schedule.ActionKind;

/**
 * One timed action from a run log: {@code kind} (F, I, W or B) on model stage {@code stage} of a
 * pipeline cut into {@code stages} stages, over {@code microbatches} micro-batches (more than one
 * only for a concatenated p2), taking {@code seconds}.
 */
public record MeasuredCost(int stage, int stages, ActionKind kind, int microbatches, double seconds) {
}
