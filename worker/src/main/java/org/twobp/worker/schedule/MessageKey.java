package org.twobp.worker.schedule;

/**
 * Identifies one point-to-point message: an activation (FORWARD, stage s to s+1) or an
 * input-gradient (BACKWARD, stage s to s-1) of one micro-batch. A send and its matching receive
 * have equal keys, so both ranks compute the same tag without talking to each other.
 */
public record MessageKey(Direction direction, int fromStage, int toStage, int microbatch) {
    public enum Direction { FORWARD, BACKWARD }

    /**
     * A tag unique within one training step: the boundary index (lower stage of the pair), then the
     * direction, then the micro-batch. Stays below {@code 2 * stages * microbatches}, far under the
     * MPI guarantee of 32767 for realistic pipelines.
     */
    public int tag(int stages, int microbatches) {
        int boundary = Math.min(fromStage, toStage);
        if (boundary < 0 || boundary >= stages - 1 || microbatch >= microbatches) {
            throw new ScheduleException("message " + this + " lies outside a pipeline of " + stages
                    + " stages and " + microbatches + " micro-batches");
        }
        return (boundary * 2 + direction.ordinal()) * microbatches + microbatch;
    }
}
