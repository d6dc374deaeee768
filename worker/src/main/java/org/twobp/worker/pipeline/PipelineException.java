package org.twobp.worker.pipeline;

/** A failure inside a pipeline step, naming where it happened: rank, stage, step and action. */
public final class PipelineException extends RuntimeException {

    private final int rank;

    /** {@code step} counts from 1, as the progress lines do. */
    public PipelineException(int rank, int stage, int step, String action, Throwable cause) {
        super("rank " + rank + (stage >= 0 ? " (stage " + stage + ")" : "") + " failed at step " + step
                + " in action " + action + ": " + cause, cause);
        this.rank = rank;
    }

    public int rank() {
        return rank;
    }
}
