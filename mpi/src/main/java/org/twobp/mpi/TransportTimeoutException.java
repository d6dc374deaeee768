package org.twobp.mpi;

import java.time.Duration;

/** An operation waited longer than the transport's timeout: the peer is gone, stuck or mismatched. */
public class TransportTimeoutException extends TransportException {

    public TransportTimeoutException(String operation, int rank, int peer, int tag, long bytes, Duration waited) {
        super(operation, rank, peer, tag, bytes, "no completion after " + waited.toMillis() + " ms"
                + " (is the peer alive, and does it use the same tag? raise the timeout if it is only slow)");
    }
}
