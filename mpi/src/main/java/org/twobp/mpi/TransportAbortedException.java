package org.twobp.mpi;

/** The job was aborted (by this rank or another) while an operation was pending or starting. */
public class TransportAbortedException extends TransportException {

    private final int exitCode;
    private final int abortingRank;

    public TransportAbortedException(String operation, int rank, int abortingRank, int exitCode, String message) {
        super(operation, rank, NONE, NONE, NONE,
                "job aborted by rank " + abortingRank + " (exit code " + exitCode + "): " + message);
        this.exitCode = exitCode;
        this.abortingRank = abortingRank;
    }

    public int exitCode() { return exitCode; }

    public int abortingRank() { return abortingRank; }
}
