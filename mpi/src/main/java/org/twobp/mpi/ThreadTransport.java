package org.twobp.mpi;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;

/**
 * Ranks as threads in one JVM, with the same semantics as {@link MpiTransport}, so everything
 * above the transport can be unit-tested without MPI.
 *
 * <p>Like MPI, a message up to {@link #EAGER_LIMIT_BYTES} is copied at once and its send
 * completes at once; a larger one waits for its receive (rendezvous). Code that only works
 * because large sends are buffered therefore deadlocks here too, and the timeout names it.
 *
 * <pre>{@code
 * ThreadTransport.run(4, t -> { ... t.rank() ... t.send(...) ... });
 * }</pre>
 */
public final class ThreadTransport implements Transport {

    /** Messages up to this size complete their send without waiting for the receiver. */
    public static final int EAGER_LIMIT_BYTES = 64 * 1024;

    /**
     * How long after an abort a rank may keep running outside the transport (finishing an
     * action) before it is interrupted; as long again, and its thread is given up on.
     */
    public static final Duration ABORT_GRACE = Duration.ofSeconds(2);

    /** The code a rank's body runs. */
    @FunctionalInterface
    public interface RankBody {
        void run(ThreadTransport transport) throws Exception;
    }

    private final World world;
    private final int rank;
    private volatile Duration timeout = DEFAULT_TIMEOUT;

    private ThreadTransport(World world, int rank) {
        this.world = world;
        this.rank = rank;
    }

    /** A fresh in-process job of {@code size} ranks. */
    public static World world(int size) {
        return new World(size);
    }

    /**
     * Runs {@code body} on {@code size} rank threads and waits for all. A rank that throws aborts
     * the job (as a failing MPI rank would), so the others never hang; the first failure is
     * rethrown here with the later ones suppressed. A rank still busy outside the transport
     * {@link #ABORT_GRACE} after an abort is interrupted, as MPI_Abort would kill its process.
     */
    public static void run(int size, RankBody body) {
        world(size).run(body);
    }

    @Override public int rank() { return rank; }

    @Override public int size() { return world.size; }

    @Override public RankInfo rankInfo() {
        return new RankInfo(rank, world.size, rank, world.size, 0, "threads");
    }

    @Override public int maxTag() { return MIN_TAG_UB; }

    @Override public Duration timeout() { return timeout; }

    @Override public void setTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        this.timeout = timeout;
    }

    @Override public Request isend(FloatBuffer data, int dest, int tag) {
        return world.send(this, Kind.FLOAT, data, dest, tag);
    }

    @Override public Request irecv(FloatBuffer data, int source, int tag) {
        return world.recv(this, Kind.FLOAT, data, source, tag);
    }

    @Override public Request isend(ByteBuffer data, int dest, int tag) {
        return world.send(this, Kind.BYTE, data, dest, tag);
    }

    @Override public Request irecv(ByteBuffer data, int source, int tag) {
        return world.recv(this, Kind.BYTE, data, source, tag);
    }

    @Override public void allreduce(double[] values, ReduceOp op) {
        double[] result = (double[]) world.collective(this, "allreduce(double[" + values.length + "], " + op + ")",
                values.clone(), inputs -> {
                    double[] acc = ((double[]) inputs[0]).clone();
                    for (int r = 1; r < inputs.length; r++) {
                        double[] x = (double[]) inputs[r];
                        for (int i = 0; i < acc.length; i++) {
                            acc[i] = op.apply(acc[i], x[i]);
                        }
                    }
                    return acc;
                });
        System.arraycopy(result, 0, values, 0, values.length);
    }

    @Override public void barrier() {
        world.collective(this, "barrier", null, inputs -> null);
    }

    @Override public void abort(int code, String message) {
        world.abort(rank, code, message, true);
        throw new TransportAbortedException("abort", rank, rank, code, message);
    }

    @Override public void close() {
        // nothing to release: the world lives as long as its threads
    }

    private enum Kind { FLOAT, BYTE }

    /** All ranks of one in-process job and their mailboxes. */
    public static final class World {
        private final int size;
        private final Object lock = new Object();
        private final List<List<Envelope>> unexpected = new ArrayList<>();
        private final List<List<ThreadRequest>> posted = new ArrayList<>();
        private final ThreadTransport[] transports;
        // collective state
        private long generation;
        private int arrived;
        private String collectiveOp;
        private final Object[] inputs;
        private final boolean[] present;
        private Object lastResult;
        // abort state
        private boolean aborted;
        private int abortCode;
        private int abortRank;
        private String abortMessage;

        private World(int size) {
            if (size < 1) {
                throw new IllegalArgumentException("a job needs at least one rank, got " + size);
            }
            this.size = size;
            this.inputs = new Object[size];
            this.present = new boolean[size];
            this.transports = new ThreadTransport[size];
            for (int r = 0; r < size; r++) {
                unexpected.add(new ArrayList<>());
                posted.add(new ArrayList<>());
                transports[r] = new ThreadTransport(this, r);
            }
        }

        public int size() { return size; }

        public ThreadTransport transport(int rank) { return transports[rank]; }

        /** See {@link ThreadTransport#run}. */
        public void run(RankBody body) {
            Thread[] threads = new Thread[size];
            Throwable[] failures = new Throwable[size];
            long[] failedAt = new long[size];
            boolean[] interrupted = new boolean[size];
            for (int r = 0; r < size; r++) {
                final int rank = r;
                threads[r] = new Thread(() -> {
                    try {
                        body.run(transports[rank]);
                    } catch (Throwable t) {
                        failures[rank] = t;
                        failedAt[rank] = System.nanoTime();
                        abort(rank, 1, "rank " + rank + " failed: " + t, false);
                    }
                }, "rank-" + r);
                threads[r].setDaemon(true); // a rank that ignores even the interrupt must not keep the JVM up
                threads[r].start();
            }
            List<Integer> stuck = awaitRanks(threads, interrupted);
            Throwable first = null;
            int firstRank = -1;
            for (int r = 0; r < size; r++) {
                if (failures[r] != null && (first == null || rootCauseBefore(failures[r], interrupted[r], failedAt[r],
                        first, interrupted[firstRank], failedAt[firstRank]))) {
                    first = failures[r];
                    firstRank = r;
                }
            }
            if (first == null) {
                return;
            }
            for (int r = 0; r < size; r++) {
                if (failures[r] != null && failures[r] != first) {
                    first.addSuppressed(failures[r]);
                }
            }
            for (int r : stuck) {
                first.addSuppressed(new IllegalStateException("rank " + r + " did not end within "
                        + 2 * ABORT_GRACE.toMillis() + " ms of the abort, not even when interrupted; its thread is"
                        + " left running"));
            }
            if (first instanceof RuntimeException re) {
                throw re;
            }
            if (first instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("rank " + firstRank + " failed", first);
        }

        /**
         * Joins every rank thread; once the job is aborted, interrupts those still running after
         * {@link #ABORT_GRACE} and gives up on them after as long again. Returns the ranks given up on.
         */
        private List<Integer> awaitRanks(Thread[] threads, boolean[] interrupted) {
            long abortSeen = 0;
            boolean interruptsSent = false;
            while (true) {
                boolean anyAlive = false;
                for (Thread t : threads) {
                    try {
                        t.join(10);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted while waiting for rank threads", e);
                    }
                    anyAlive |= t.isAlive();
                }
                if (!anyAlive) {
                    return List.of();
                }
                long now = System.nanoTime();
                synchronized (lock) {
                    if (aborted && abortSeen == 0) {
                        abortSeen = now;
                    }
                }
                if (abortSeen == 0) {
                    continue;
                }
                long since = now - abortSeen;
                if (!interruptsSent && since > ABORT_GRACE.toNanos()) {
                    for (int r = 0; r < size; r++) {
                        if (threads[r].isAlive()) {
                            interrupted[r] = true;
                            threads[r].interrupt();
                        }
                    }
                    interruptsSent = true;
                } else if (since > 2 * ABORT_GRACE.toNanos()) {
                    List<Integer> stuck = new ArrayList<>();
                    for (int r = 0; r < size; r++) {
                        if (threads[r].isAlive()) {
                            stuck.add(r);
                        }
                    }
                    return stuck;
                }
            }
        }

        /**
         * The root cause is the earliest failure that is not itself a consequence of an abort (an
         * abort seen by the transport, or the interrupt that ends a rank stuck outside it).
         */
        private static boolean rootCauseBefore(Throwable a, boolean interruptedA, long atA, Throwable b,
                                               boolean interruptedB, long atB) {
            boolean aSecondary = a instanceof TransportAbortedException || interruptedA;
            boolean bSecondary = b instanceof TransportAbortedException || interruptedB;
            if (aSecondary != bSecondary) {
                return !aSecondary;
            }
            return atA < atB;
        }

        void abort(int rank, int code, String message, boolean print) {
            synchronized (lock) {
                if (aborted) {
                    return;
                }
                aborted = true;
                abortRank = rank;
                abortCode = code;
                abortMessage = message;
                lock.notifyAll();
            }
            if (print) {
                System.err.println("[twobp] rank " + rank + " aborts the job (exit code " + code + "): " + message);
                System.err.flush();
            }
        }

        private void checkAborted(String op, int rank) {
            if (aborted) {
                throw new TransportAbortedException(op, rank, abortRank, abortCode, abortMessage);
            }
        }

        /** As {@link #checkAborted}, for an operation that has been waiting since {@code start}. */
        private void checkAbortedWhileWaiting(String op, int rank, int peer, int tag, long bytes, long start,
                                              int[] notArrived) {
            if (aborted) {
                throw new TransportAbortedException(op, rank, peer, tag, bytes, abortRank, abortCode, abortMessage,
                        Duration.ofNanos(System.nanoTime() - start), notArrived);
            }
        }

        /** The ranks that have not entered the collective in progress, this one excluded. Holds the lock. */
        private int[] notArrived(int self) {
            int[] missing = new int[size];
            int n = 0;
            for (int r = 0; r < size; r++) {
                if (r != self && !present[r]) {
                    missing[n++] = r;
                }
            }
            return Arrays.copyOf(missing, n);
        }

        private void checkPeer(String op, ThreadTransport self, int peer, int tag, long bytes) {
            if (peer < 0 || peer >= size) {
                throw new TransportException(op, self.rank, peer, tag, bytes,
                        "invalid rank " + peer + ": the job has ranks 0.." + (size - 1));
            }
            if (tag < 0 || tag > self.maxTag()) {
                throw new TransportException(op, self.rank, peer, tag, bytes,
                        "invalid tag " + tag + ": tags run from 0 to " + self.maxTag());
            }
        }

        private static void checkDirect(String op, ThreadTransport self, Buffer b, int peer, int tag) {
            if (!b.isDirect()) {
                throw new TransportException(op, self.rank, peer, tag, TransportException.NONE,
                        "buffer is not direct; allocate it with Transport.allocateFloats/allocateBytes");
            }
        }

        Request send(ThreadTransport self, Kind kind, Buffer data, int dest, int tag) {
            String op = "isend";
            checkDirect(op, self, data, dest, tag);
            int count = data.remaining();
            long bytes = (long) count * (kind == Kind.FLOAT ? Float.BYTES : 1);
            checkPeer(op, self, dest, tag, bytes);
            ThreadRequest request = new ThreadRequest(this, self, op, dest, tag, bytes);
            synchronized (lock) {
                checkAborted(op, self.rank);
                for (Iterator<ThreadRequest> it = posted.get(dest).iterator(); it.hasNext(); ) {
                    ThreadRequest recv = it.next();
                    if (recv.peer == self.rank && recv.tag == tag && recv.kind == kind) {
                        it.remove();
                        deliver(kind, data, count, recv, request);
                        return request;
                    }
                }
                Envelope env = new Envelope(self.rank, tag, kind, count, request);
                if (bytes <= EAGER_LIMIT_BYTES) {
                    env.payload = copyOf(kind, data);
                    request.complete(count);
                } else {
                    env.payload = duplicate(kind, data);
                }
                unexpected.get(dest).add(env);
            }
            return request;
        }

        Request recv(ThreadTransport self, Kind kind, Buffer data, int source, int tag) {
            String op = "irecv";
            checkDirect(op, self, data, source, tag);
            long bytes = (long) data.remaining() * (kind == Kind.FLOAT ? Float.BYTES : 1);
            checkPeer(op, self, source, tag, bytes);
            ThreadRequest request = new ThreadRequest(this, self, op, source, tag, bytes);
            request.kind = kind;
            request.target = duplicate(kind, data);
            synchronized (lock) {
                checkAborted(op, self.rank);
                for (Iterator<Envelope> it = unexpected.get(self.rank).iterator(); it.hasNext(); ) {
                    Envelope env = it.next();
                    if (env.source == source && env.tag == tag) {
                        if (env.kind != kind) {
                            throw new TransportException(op, self.rank, source, tag, bytes,
                                    "message is " + env.kind + " but the receive expects " + kind);
                        }
                        it.remove();
                        deliver(kind, env.payload, env.count, request, env.sender);
                        return request;
                    }
                }
                posted.get(self.rank).add(request);
            }
            return request;
        }

        /** Copies a matched message into the receive buffer; completes both sides. Holds the lock. */
        private void deliver(Kind kind, Buffer payload, int count, ThreadRequest recv, ThreadRequest send) {
            Buffer target = recv.target;
            if (count > target.remaining()) {
                recv.fail(new TransportException(recv.op, recv.self.rank, recv.peer, recv.tag, recv.bytes,
                        "message of " + count + " elements does not fit the receive buffer of "
                                + target.remaining() + " (truncated)"));
            } else {
                if (kind == Kind.FLOAT) {
                    ((FloatBuffer) target).put(((FloatBuffer) payload).duplicate());
                } else {
                    ((ByteBuffer) target).put(((ByteBuffer) payload).duplicate());
                }
                recv.complete(count);
            }
            if (!send.done) {
                send.complete(count);
            }
            lock.notifyAll();
        }

        private static Buffer copyOf(Kind kind, Buffer data) {
            if (kind == Kind.FLOAT) {
                FloatBuffer src = ((FloatBuffer) data).duplicate();
                FloatBuffer copy = FloatBuffer.allocate(src.remaining());
                copy.put(src).flip();
                return copy;
            }
            ByteBuffer src = ((ByteBuffer) data).duplicate();
            ByteBuffer copy = ByteBuffer.allocate(src.remaining());
            copy.put(src).flip();
            return copy;
        }

        private static Buffer duplicate(Kind kind, Buffer data) {
            return kind == Kind.FLOAT ? ((FloatBuffer) data).duplicate() : ((ByteBuffer) data).duplicate();
        }

        Object collective(ThreadTransport self, String op, Object input, Function<Object[], Object> combine) {
            long start = System.nanoTime();
            long deadline = start + self.timeout.toNanos();
            synchronized (lock) {
                checkAborted(op, self.rank);
                if (arrived == 0) {
                    collectiveOp = op;
                } else if (!collectiveOp.equals(op)) {
                    String msg = "collective mismatch: this rank called " + op + " while others are in " + collectiveOp;
                    abort(self.rank, 1, msg, true);
                    throw new TransportException(op, self.rank, TransportException.NONE, TransportException.NONE,
                            TransportException.NONE, msg);
                }
                long gen = generation;
                inputs[self.rank] = input;
                present[self.rank] = true;
                if (++arrived == size) {
                    lastResult = combine.apply(inputs);
                    Arrays.fill(inputs, null);
                    Arrays.fill(present, false);
                    arrived = 0;
                    generation++;
                    lock.notifyAll();
                    return lastResult;
                }
                while (generation == gen) {
                    checkAbortedWhileWaiting(op, self.rank, TransportException.NONE, TransportException.NONE,
                            TransportException.NONE, start, notArrived(self.rank));
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new TransportTimeoutException(op, self.rank, TransportException.NONE, self.timeout,
                                notArrived(self.rank));
                    }
                    waitNanos(left);
                }
                return lastResult;
            }
        }

        /**
         * Waits on the lock (held by the caller). An interrupt after an abort returns, so that the
         * caller reports the abort and what it was waiting for.
         */
        private void waitNanos(long nanos) {
            try {
                long ms = nanos / 1_000_000;
                lock.wait(Math.max(ms, 0), (int) (nanos % 1_000_000));
            } catch (InterruptedException e) {
                if (aborted) {
                    return;
                }
                Thread.currentThread().interrupt();
                throw new IllegalStateException("rank thread interrupted while waiting", e);
            }
        }

        int await(ThreadRequest r) {
            long start = System.nanoTime();
            long deadline = start + r.self.timeout.toNanos();
            synchronized (lock) {
                while (!r.done) {
                    checkAbortedWhileWaiting(r.op, r.self.rank, r.peer, r.tag, r.bytes, start, null);
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        cancel(r);
                        throw new TransportTimeoutException(r.op, r.self.rank, r.peer, r.tag, r.bytes, r.self.timeout);
                    }
                    waitNanos(left);
                }
                return r.result();
            }
        }

        boolean test(ThreadRequest r) {
            synchronized (lock) {
                if (r.done) {
                    r.result();
                    return true;
                }
                checkAborted(r.op, r.self.rank);
                return false;
            }
        }

        /** A timed-out operation is withdrawn so that a late message cannot land in a reused buffer. */
        private void cancel(ThreadRequest r) {
            posted.get(r.self.rank).remove(r);
            unexpected.get(r.peer).removeIf(env -> env.sender == r);
        }
    }

    private static final class Envelope {
        final int source;
        final int tag;
        final Kind kind;
        final int count;
        final ThreadRequest sender;
        Buffer payload;

        Envelope(int source, int tag, Kind kind, int count, ThreadRequest sender) {
            this.source = source;
            this.tag = tag;
            this.kind = kind;
            this.count = count;
            this.sender = sender;
        }
    }

    private static final class ThreadRequest implements Request {
        final World world;
        final ThreadTransport self;
        final String op;
        final int peer;
        final int tag;
        final long bytes;
        Kind kind;
        Buffer target;
        boolean done;
        int count;
        RuntimeException failure;

        ThreadRequest(World world, ThreadTransport self, String op, int peer, int tag, long bytes) {
            this.world = world;
            this.self = self;
            this.op = op;
            this.peer = peer;
            this.tag = tag;
            this.bytes = bytes;
        }

        void complete(int n) {
            count = n;
            done = true;
        }

        void fail(RuntimeException e) {
            failure = e;
            done = true;
        }

        int result() {
            if (failure != null) {
                throw failure;
            }
            return count;
        }

        @Override public boolean test() { return world.test(this); }

        @Override public int await() { return world.await(this); }
    }
}
