package org.twobp.mpi;

/**
 * A communication failure, naming where it happened: the operation, this rank, the peer, the
 * tag and the message size. The root of the transport's exceptions; unchecked.
 */
public class TransportException extends RuntimeException {

    /** Marks a field that does not apply (a barrier has no peer or tag). */
    public static final int NONE = -1;

    private final String operation;
    private final int rank;
    private final int peer;
    private final int tag;
    private final long bytes;

    public TransportException(String operation, int rank, int peer, int tag, long bytes, String detail,
                              Throwable cause) {
        super(describe(operation, rank, peer, tag, bytes) + ": " + detail, cause);
        this.operation = operation;
        this.rank = rank;
        this.peer = peer;
        this.tag = tag;
        this.bytes = bytes;
    }

    public TransportException(String operation, int rank, int peer, int tag, long bytes, String detail) {
        this(operation, rank, peer, tag, bytes, detail, null);
    }

    static String describe(String operation, int rank, int peer, int tag, long bytes) {
        StringBuilder s = new StringBuilder(operation).append(" on rank ").append(rank);
        String sep = " (";
        if (peer != NONE) {
            s.append(sep).append("peer ").append(peer);
            sep = ", ";
        }
        if (tag != NONE) {
            s.append(sep).append("tag ").append(tag);
            sep = ", ";
        }
        if (bytes != NONE) {
            s.append(sep).append(bytes).append(" bytes");
            sep = ", ";
        }
        if (!sep.equals(" (")) {
            s.append(')');
        }
        return s.toString();
    }

    /** "rank 2", "ranks 2 and 3", "ranks 1, 2 and 3": how messages name a set of ranks. */
    public static String rankList(int... ranks) {
        if (ranks.length == 1) {
            return "rank " + ranks[0];
        }
        StringBuilder s = new StringBuilder("ranks ");
        for (int i = 0; i < ranks.length; i++) {
            s.append(i == 0 ? "" : i == ranks.length - 1 ? " and " : ", ").append(ranks[i]);
        }
        return s.toString();
    }

    public String operation() { return operation; }

    public int rank() { return rank; }

    public int peer() { return peer; }

    public int tag() { return tag; }

    public long bytes() { return bytes; }
}
