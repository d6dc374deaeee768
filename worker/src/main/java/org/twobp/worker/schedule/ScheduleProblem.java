package org.twobp.worker.schedule;

/**
 * One thing wrong with a schedule, located at {@code slot} (position in the rank's action list;
 * one past the end for an action that is missing) of {@code rank}.
 */
public record ScheduleProblem(int rank, int slot, String action, String message) {
    /** "rank 2, slot 5, action F3: ..." */
    public String describe() {
        return "rank " + rank + ", slot " + slot + ", action " + action + ": " + message;
    }
}
