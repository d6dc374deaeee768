package org.twobp.mpi;

import java.time.Duration;
import java.util.List;

/**
 * An operation waited longer than the transport's timeout: the peer is gone, stuck or mismatched.
 * It says whom it waited for ({@link #waitedFor()}): the other end of a send or receive, or in a
 * collective the ranks that had not arrived, where this rank can know them.
 */
public class TransportTimeoutException extends TransportException {

    private final Duration waited;
    private final int[] notArrived;
    private final Duration suspended;

    /** A send or receive that {@code peer} did not answer. */
    public TransportTimeoutException(String operation, int rank, int peer, int tag, long bytes, Duration waited) {
        this(operation, rank, peer, tag, bytes, waited, Duration.ZERO);
    }

    /**
     * As above, where this rank's own process was also {@code suspended} for a while during the
     * wait (not counted in {@code waited}): see {@link #suspended()}.
     */
    public TransportTimeoutException(String operation, int rank, int peer, int tag, long bytes, Duration waited,
                                     Duration suspended) {
        super(operation, rank, peer, tag, bytes, "no completion after " + waited.toMillis() + " ms"
                + suspendedNote(suspended)
                + " (is rank " + peer + " alive, and does it use the same tag? raise the timeout if it is only slow)");
        this.waited = waited;
        this.notArrived = null;
        this.suspended = suspended;
    }

    /**
     * A collective (all-reduce, barrier) that did not complete; {@code notArrived} are the ranks
     * that had not entered it, or null where this rank cannot know (under MPI only rank 0 does).
     */
    public TransportTimeoutException(String operation, int rank, long bytes, Duration waited, int[] notArrived) {
        this(operation, rank, bytes, waited, notArrived, Duration.ZERO);
    }

    public TransportTimeoutException(String operation, int rank, long bytes, Duration waited, int[] notArrived,
                                     Duration suspended) {
        super(operation, rank, NONE, NONE, bytes, collectiveDetail(waited, notArrived) + suspendedNote(suspended));
        this.waited = waited;
        this.notArrived = notArrived == null ? null : notArrived.clone();
        this.suspended = suspended;
    }

    static String suspendedNote(Duration suspended) {
        return suspended.isZero() ? "" : "; this rank's own process was suspended for " + suspended.toMillis()
                + " ms meanwhile";
    }

    private static String collectiveDetail(Duration waited, int[] notArrived) {
        if (notArrived == null) {
            return "not every rank arrived within " + waited.toMillis() + " ms (rank 0's report names the ranks that"
                    + " had not; raise the timeout if they are only slow)";
        }
        if (notArrived.length == 0) {
            return "every rank had arrived, yet it did not complete within " + waited.toMillis() + " ms (a rank"
                    + " stopped inside it)";
        }
        return rankList(notArrived) + " had not arrived after "
                + waited.toMillis() + " ms (" + (notArrived.length == 1 ? "is it" : "are they")
                + " alive? raise the timeout if only slow)";
    }

    /** How long the operation waited, not counting {@link #suspended()}. */
    public Duration waited() { return waited; }

    /**
     * How long this rank's own process did not run during the wait (SIGSTOP, a stalled node, a
     * long GC pause): seen as a gap between two polls of the wait. Zero for most timeouts.
     */
    public Duration suspended() { return suspended; }

    /** For a collective: whether {@link #waitedFor()} is known (else only rank 0 knows it). */
    public boolean arrivalsKnown() { return notArrived != null; }

    /** True for a collective, which has no single peer. */
    public boolean collective() { return peer() == NONE; }

    /**
     * The ranks this one waited for: the peer of a send or receive; in a collective the ranks
     * that had not arrived, empty where that is not known here.
     */
    public List<Integer> waitedFor() {
        return waitedFor(peer(), notArrived);
    }

    static List<Integer> waitedFor(int peer, int[] notArrived) {
        if (peer != NONE) {
            return List.of(peer);
        }
        return notArrived == null ? List.of() : java.util.Arrays.stream(notArrived).boxed().toList();
    }
}
