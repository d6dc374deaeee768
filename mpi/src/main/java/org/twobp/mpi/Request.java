package org.twobp.mpi;

/** A pending non-blocking send or receive. */
public interface Request {

    /** True once the operation has completed; never blocks. Rethrows the operation's failure. */
    boolean test();

    /**
     * Waits until the operation completes, at most the transport's timeout, and returns the
     * number of elements transferred (floats or bytes, as the buffer's type). Calling it again
     * after completion returns the same count at once.
     */
    int await();

    /** Waits for every request, in order; the first failure is thrown. */
    static void awaitAll(Iterable<? extends Request> requests) {
        for (Request r : requests) {
            r.await();
        }
    }

    static void awaitAll(Request... requests) {
        for (Request r : requests) {
            r.await();
        }
    }
}
