package org.twobp.worker.pipeline;

/**
 * A failure inside a pipeline step, naming where it happened: rank, stage, step and action; for
 * a wait that timed out or was cut short, also whom the rank waited for and on what message.
 */
public final class PipelineException extends RuntimeException {

    private final int rank;
    private final StalledWait wait;

    /** {@code step} counts from 1, as the progress lines do. */
    public PipelineException(int rank, int stage, int step, String action, Throwable cause) {
        super("rank " + rank + (stage >= 0 ? " (stage " + stage + ")" : "") + " failed at step " + step
                + " in action " + action + ": " + cause, cause);
        this.rank = rank;
        this.wait = null;
    }

    /** A wait that ended without its message: the message is the wait's own line. */
    public PipelineException(StalledWait wait, Throwable cause) {
        super(wait.line(), cause);
        this.rank = wait.rank();
        this.wait = wait;
    }

    public int rank() {
        return rank;
    }

    /** The wait this failure is, or null when it is a failure of this rank's own. */
    public StalledWait stalledWait() {
        return wait;
    }
}
