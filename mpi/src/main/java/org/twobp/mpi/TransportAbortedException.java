package org.twobp.mpi;

import java.time.Duration;
import java.util.List;

/**
 * The job was aborted (by this rank or another) while an operation was pending or starting.
 * When it was pending, the exception says what this rank had been waiting for and how long, so
 * that a rank stuck behind a hung peer can say so before the job goes down.
 */
public class TransportAbortedException extends TransportException {

    private final int exitCode;
    private final int abortingRank;
    private final Duration waited;
    private final int[] notArrived;
    private final Duration suspended;

    /** An operation that had not started waiting yet. */
    public TransportAbortedException(String operation, int rank, int abortingRank, int exitCode, String message) {
        super(operation, rank, NONE, NONE, NONE,
                "job aborted by rank " + abortingRank + " (exit code " + exitCode + "): " + message);
        this.exitCode = exitCode;
        this.abortingRank = abortingRank;
        this.waited = null;
        this.notArrived = null;
        this.suspended = Duration.ZERO;
    }

    /**
     * A wait of {@code waited} for {@code peer} (or, in a collective, for the ranks
     * {@code notArrived}, null if not known here) that the abort cut short.
     */
    public TransportAbortedException(String operation, int rank, int peer, int tag, long bytes, int abortingRank,
                                     int exitCode, String message, Duration waited, int[] notArrived) {
        this(operation, rank, peer, tag, bytes, abortingRank, exitCode, message, waited, notArrived, Duration.ZERO);
    }

    /** As above, where this rank's own process was also {@code suspended} during the wait (not in {@code waited}). */
    public TransportAbortedException(String operation, int rank, int peer, int tag, long bytes, int abortingRank,
                                     int exitCode, String message, Duration waited, int[] notArrived,
                                     Duration suspended) {
        super(operation, rank, peer, tag, bytes, "job aborted by rank " + abortingRank + " (exit code " + exitCode
                + ") after " + waited.toMillis() + " ms of waiting"
                + (notArrived != null && notArrived.length > 0 ? " for " + rankList(notArrived) + " to arrive" : "")
                + TransportTimeoutException.suspendedNote(suspended) + ": " + message);
        this.exitCode = exitCode;
        this.abortingRank = abortingRank;
        this.waited = waited;
        this.notArrived = notArrived == null ? null : notArrived.clone();
        this.suspended = suspended;
    }

    public int exitCode() { return exitCode; }

    public int abortingRank() { return abortingRank; }

    /** How long the operation had waited when the abort came; null if it had not begun to wait. */
    public Duration waited() { return waited; }

    /** As {@link TransportTimeoutException#suspended()}. */
    public Duration suspended() { return suspended; }

    /** For a collective: whether {@link #waitedFor()} is known. */
    public boolean arrivalsKnown() { return notArrived != null; }

    /** As {@link TransportTimeoutException#waitedFor()}: whom the cut-short wait was for. */
    public List<Integer> waitedFor() {
        return TransportTimeoutException.waitedFor(peer(), notArrived);
    }
}
