package org.twobp.mpi;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

import mpi.Comm;
import mpi.Datatype;
import mpi.Intracomm;
import mpi.MPI;
import mpi.MPIException;
import mpi.Op;
import mpi.Status;

/**
 * The transport over Open MPI's Java bindings: the only class of the project that touches
 * {@code mpi.*}.
 *
 * <ul>
 *   <li>MPI errors come back as exceptions ({@code MPI_ERRORS_RETURN} on the world
 *       communicator instead of the default fatal handler) and are rethrown as
 *       {@link TransportException}s naming rank, peer, tag and size.</li>
 *   <li>Every operation, blocking ones included, is a non-blocking MPI call polled with
 *       {@code MPI_Test} until it completes or the timeout passes, so that no rank can wait
 *       forever for a peer that is gone.</li>
 *   <li>Buffers are direct, so MPI reads and writes them in place without a copy.</li>
 *   <li>A hung rank is named, not only waited for: on entering a collective every rank tells
 *       rank 0 (a message of 8 bytes), so that rank 0's timeout lists the ranks that never came;
 *       and {@link #abort} first tells every other rank, which stops waiting, says whom it was
 *       waiting for, and only then is the job taken down. These messages travel on a duplicate
 *       of the world communicator, so they never match a caller's receive.</li>
 * </ul>
 * Single-threaded: the thread that initialised MPI is the one that may use it.
 */
public final class MpiTransport implements Transport {

    private static MpiTransport instance;

    /** The transport's own messages on {@link #control}: "I have entered collective number N" ... */
    private static final int TAG_ARRIVED = 1;
    /** ... and "rank R ends the job with this code and message". */
    private static final int TAG_ABORT = 2;
    /** The longest abort message passed on to the other ranks. */
    private static final int ABORT_MESSAGE_BYTES = 4096;
    /**
     * How long {@link #abort} waits for the other ranks to say what they were waiting for before
     * it takes the job down (at most the timeout); it ends as soon as every other rank has.
     */
    private static final Duration ABORT_LINGER = Duration.ofSeconds(5);
    /** How often a wait looks for an abort notice once it has stopped spinning. */
    private static final long NOTICE_POLL_NANOS = 2_000_000;
    /**
     * A wait polls at least every 100 us; a gap this long between two polls means this process
     * did not run (SIGSTOP, a stalled node, a long GC pause). That time is not waiting for a peer:
     * it moves the deadline, and the failure reports it, so that a rank that was itself stopped
     * does not, once woken, claim to have timed out waiting for the others.
     */
    private static final long SUSPENDED_GAP_NANOS = 1_000_000_000L;

    private final Intracomm world;
    private final Intracomm control;
    private final int rank;
    private final int size;
    private final int maxTag;
    private final RankInfo rankInfo;
    private final Thread owner;
    private final DoubleBuffer reduceScratch = Transport.allocateBytes(64 * Double.BYTES).asDoubleBuffer();
    private volatile Duration timeout = DEFAULT_TIMEOUT;
    private boolean closed;
    /** Collectives entered so far: the same sequence on every rank. */
    private long collectives;
    private final LongBuffer arrivalOut = Transport.allocateBytes(Long.BYTES).asLongBuffer();
    private final LongBuffer[] arrivalIn;
    /** The first abort notice another rank sent, and every rank that has sent one. */
    private AbortNotice notice;
    private final Set<Integer> noticesFrom = new HashSet<>();

    private MpiTransport() throws MPIException {
        this.world = MPI.COMM_WORLD;
        world.setErrhandler(MPI.ERRORS_RETURN);
        this.rank = world.getRank();
        this.size = world.getSize();
        this.owner = Thread.currentThread();
        int ub = MIN_TAG_UB;
        try {
            Object attr = world.getAttr(MPI.TAG_UB);
            if (attr instanceof Integer value) {
                ub = Math.max(value, MIN_TAG_UB);
            }
        } catch (MPIException | RuntimeException e) {
            // the guaranteed minimum is enough for the executor's tags
        }
        this.maxTag = ub;
        this.rankInfo = discoverRankInfo();
        this.control = world.dup();
        control.setErrhandler(MPI.ERRORS_RETURN);
        this.arrivalIn = new LongBuffer[rank == 0 ? size : 0];
        LongBuffer all = Transport.allocateBytes(arrivalIn.length * Long.BYTES).asLongBuffer();
        for (int r = 0; r < arrivalIn.length; r++) {
            arrivalIn[r] = all.duplicate().position(r).limit(r + 1).slice();
        }
    }

    /**
     * Initialises MPI once per process (later calls return the same transport). Call it from
     * the thread that will do all communication.
     */
    public static synchronized MpiTransport init(String[] args) {
        if (instance != null) {
            return instance;
        }
        try {
            MPI.Init(args == null ? new String[0] : args);
            instance = new MpiTransport();
            return instance;
        } catch (MPIException | UnsatisfiedLinkError e) {
            throw new TransportException("MPI_Init", -1, TransportException.NONE, TransportException.NONE,
                    TransportException.NONE, "could not initialise MPI (" + e.getMessage() + "). Start the ranks with "
                    + "mpirun or srun --mpi=pmix, and make sure libmpi_java.so is on java.library.path "
                    + "(Open MPI's libdir: ompi_info --path libdir)", e);
        }
    }

    /** Node-local rank and size from MPI's shared-memory split; node index from the local leaders. */
    private RankInfo discoverRankInfo() throws MPIException {
        Intracomm node = world.splitType(Comm.TYPE_SHARED, rank, MPI.INFO_NULL);
        int localRank = node.getRank();
        int localSize = node.getSize();
        // every rank learns the world rank of its node's leader ...
        int[] leader = {rank};
        node.allReduce(leader, 1, MPI.INT, MPI.MIN);
        node.free();
        // ... and the node index is the number of distinct leaders before it
        int[] leaders = new int[size];
        leaders[rank] = leader[0];
        world.allGather(leaders, 1, MPI.INT);
        int nodeIndex = (int) java.util.Arrays.stream(leaders).distinct().filter(l -> l < leader[0]).count();
        return new RankInfo(rank, size, localRank, localSize, nodeIndex, "MPI");
    }

    @Override public int rank() { return rank; }

    @Override public int size() { return size; }

    @Override public RankInfo rankInfo() { return rankInfo; }

    @Override public int maxTag() { return maxTag; }

    @Override public Duration timeout() { return timeout; }

    @Override public void setTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        this.timeout = timeout;
    }

    /** The Open MPI library's own version line. */
    public static String libraryVersion() {
        return MPI.getLibVersion().trim();
    }

    @Override public Request isend(FloatBuffer data, int dest, int tag) {
        return start("isend", data, MPI.FLOAT, Float.BYTES, dest, tag, true);
    }

    @Override public Request irecv(FloatBuffer data, int source, int tag) {
        return start("irecv", data, MPI.FLOAT, Float.BYTES, source, tag, false);
    }

    @Override public Request isend(ByteBuffer data, int dest, int tag) {
        return start("isend", data, MPI.BYTE, 1, dest, tag, true);
    }

    @Override public Request irecv(ByteBuffer data, int source, int tag) {
        return start("irecv", data, MPI.BYTE, 1, source, tag, false);
    }

    private Request start(String op, Buffer data, Datatype type, int elementBytes, int peer, int tag, boolean send) {
        int count = data.remaining();
        long bytes = (long) count * elementBytes;
        checkCaller(op, peer, tag, bytes);
        if (!data.isDirect()) {
            throw new TransportException(op, rank, peer, tag, bytes,
                    "buffer is not direct; allocate it with Transport.allocateFloats/allocateBytes");
        }
        if (peer < 0 || peer >= size) {
            throw new TransportException(op, rank, peer, tag, bytes,
                    "invalid rank " + peer + ": the job has ranks 0.." + (size - 1));
        }
        if (tag < 0 || tag > maxTag) {
            throw new TransportException(op, rank, peer, tag, bytes,
                    "invalid tag " + tag + ": tags run from 0 to " + maxTag);
        }
        // MPI addresses a direct buffer from its start: a slice begins at the region's first element
        Buffer region = data instanceof FloatBuffer f ? f.slice() : ((ByteBuffer) data).slice();
        try {
            mpi.Request r = send
                    ? world.iSend(region, count, type, peer, tag)
                    : world.iRecv(region, count, type, peer, tag);
            return new MpiRequest(op, r, send ? null : type, count, peer, tag, bytes);
        } catch (MPIException e) {
            throw mpiFailure(op, peer, tag, bytes, e);
        }
    }

    @Override public void allreduce(double[] values, ReduceOp op) {
        String name = "allreduce(" + values.length + " doubles, " + op + ")";
        checkCaller(name, TransportException.NONE, TransportException.NONE, (long) values.length * Double.BYTES);
        DoubleBuffer buf = values.length <= reduceScratch.capacity()
                ? reduceScratch : Transport.allocateBytes(values.length * Double.BYTES).asDoubleBuffer();
        buf.clear();
        buf.put(values);
        Op mpiOp = op == ReduceOp.SUM ? MPI.SUM : MPI.MAX;
        long bytes = (long) values.length * Double.BYTES;
        Arrivals arrivals = new Arrivals(name, bytes);
        try {
            mpi.Request r = world.iAllReduce(buf, values.length, MPI.DOUBLE, mpiOp);
            new MpiRequest(name, r, null, values.length, TransportException.NONE, TransportException.NONE, bytes,
                    arrivals).await();
        } catch (MPIException e) {
            arrivals.abandon();
            throw mpiFailure(name, TransportException.NONE, TransportException.NONE, bytes, e);
        } catch (RuntimeException e) {
            arrivals.abandon();
            throw e;
        }
        arrivals.finish();
        buf.clear();
        buf.get(values, 0, values.length);
    }

    @Override public void barrier() {
        checkCaller("barrier", TransportException.NONE, TransportException.NONE, TransportException.NONE);
        Arrivals arrivals = new Arrivals("barrier", TransportException.NONE);
        try {
            new MpiRequest("barrier", world.iBarrier(), null, 0, TransportException.NONE, TransportException.NONE,
                    TransportException.NONE, arrivals).await();
        } catch (MPIException e) {
            arrivals.abandon();
            throw mpiFailure("barrier", TransportException.NONE, TransportException.NONE, TransportException.NONE, e);
        } catch (RuntimeException e) {
            arrivals.abandon();
            throw e;
        }
        arrivals.finish();
    }

    @Override public void abort(int code, String message) {
        System.out.flush();
        System.err.println("[twobp] rank " + rank + " aborts the job (exit code " + code + "): " + message);
        System.err.flush();
        if (Thread.currentThread() == owner && !closed) {
            try {
                tellTheOthers(code, message);
            } catch (MPIException | RuntimeException e) {
                // the notice is a courtesy: the abort below ends the job either way
            }
        }
        try {
            world.abort(code);
        } catch (MPIException e) {
            // abort failed: the least we can do is end this process with the code
        }
        Runtime.getRuntime().halt(code == 0 ? 1 : code);
    }

    /**
     * Sends every other rank an abort notice, then waits up to {@link #ABORT_LINGER} (at most the
     * timeout) until each has sent one back, so that ranks blocked on this one, or on a hung one,
     * print what they were waiting for before MPI_Abort takes their processes. A notice names the
     * rank that first ended the job, also when this rank only passes it on.
     */
    private void tellTheOthers(int code, String message) throws MPIException {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        String head = (notice != null ? notice.origin() : rank) + " " + code + "\n";
        byte[] h = head.getBytes(StandardCharsets.UTF_8);
        ByteBuffer payload = Transport.allocateBytes(h.length + Math.min(text.length, ABORT_MESSAGE_BYTES));
        payload.put(h).put(text, 0, payload.remaining()).flip();
        List<mpi.Request> sent = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            if (r != rank) {
                sent.add(control.iSend(payload, payload.limit(), MPI.BYTE, r, TAG_ABORT));
            }
        }
        long deadline = System.nanoTime() + Math.min(ABORT_LINGER.toNanos(), timeout.toNanos());
        while (noticesFrom.size() < size - 1 && System.nanoTime() < deadline) {
            if (receiveNotice() == null) {
                LockSupport.parkNanos(1_000_000);
            }
            for (mpi.Request r : sent) {
                r.test(); // lets MPI progress the notices that are not eager
            }
        }
    }

    /** An abort notice: who first ended the job, with what code and message. */
    private record AbortNotice(int origin, int code, String message) {
    }

    /** Receives one pending abort notice, or returns null; the first one received is kept in {@link #notice}. */
    private AbortNotice receiveNotice() throws MPIException {
        Status probe = control.iProbe(MPI.ANY_SOURCE, TAG_ABORT);
        if (probe == null) {
            return null;
        }
        int from = probe.getSource();
        int n = probe.getCount(MPI.BYTE);
        byte[] bytes = new byte[Math.max(n, 1)];
        control.recv(bytes, n, MPI.BYTE, from, TAG_ABORT);
        String text = new String(bytes, 0, n, StandardCharsets.UTF_8);
        int nl = text.indexOf('\n');
        String[] head = (nl < 0 ? text : text.substring(0, nl)).split(" ");
        AbortNotice received;
        try {
            received = new AbortNotice(Integer.parseInt(head[0]), Integer.parseInt(head[1]),
                    nl < 0 ? "" : text.substring(nl + 1));
        } catch (RuntimeException e) {
            received = new AbortNotice(from, 1, text);
        }
        noticesFrom.add(from);
        if (notice == null) {
            notice = received;
        }
        return received;
    }

    /**
     * Who has entered one collective: every rank but 0 sends rank 0 the collective's number as it
     * enters, so a timeout on rank 0 can list the ranks that never came. Costs rank 0 one small
     * receive per rank and collective, every other rank one small send.
     */
    private final class Arrivals {
        private final String op;
        private final long bytes;
        private final long number;
        private final MpiRequest[] from;
        private MpiRequest sent;

        Arrivals(String op, long bytes) {
            this.op = op;
            this.bytes = bytes;
            this.number = ++collectives;
            this.from = new MpiRequest[arrivalIn.length];
            try {
                if (rank == 0) {
                    for (int r = 1; r < size; r++) {
                        from[r] = new MpiRequest("arrival of rank " + r + " at " + op,
                                control.iRecv(arrivalIn[r], 1, MPI.LONG, r, TAG_ARRIVED), MPI.LONG, 1, r, TAG_ARRIVED,
                                Long.BYTES, null);
                    }
                } else if (size > 1) {
                    arrivalOut.put(0, number);
                    sent = new MpiRequest("arrival at " + op, control.iSend(arrivalOut, 1, MPI.LONG, 0, TAG_ARRIVED),
                            null, 1, 0, TAG_ARRIVED, Long.BYTES, null);
                }
            } catch (MPIException e) {
                throw mpiFailure(op, TransportException.NONE, TransportException.NONE, bytes, e);
            }
        }

        /** The ranks whose arrival has not come; null on every rank but 0, which cannot know. */
        int[] notArrived() {
            if (rank != 0) {
                return null;
            }
            int[] missing = new int[size];
            int n = 0;
            for (int r = 1; r < size; r++) {
                boolean came;
                try {
                    came = from[r].test();
                } catch (TransportException e) {
                    came = false;
                }
                if (!came) {
                    missing[n++] = r;
                }
            }
            return java.util.Arrays.copyOf(missing, n);
        }

        /** After the collective completed: collects the arrivals (all sent before it) and checks their numbers. */
        void finish() {
            if (sent != null) {
                sent.await();
            }
            for (int r = 1; r < from.length; r++) {
                from[r].await();
                long theirs = arrivalIn[r].get(0);
                if (theirs != number) {
                    throw new TransportException(op, rank, r, TAG_ARRIVED, bytes, "collective mismatch: rank " + r
                            + " is at collective number " + theirs + ", this rank at " + number
                            + " (every rank must call the same all-reduces and barriers in the same order)");
                }
            }
        }

        /** The collective failed: withdraws the receives, so a later collective does not take their messages. */
        void abandon() {
            for (MpiRequest r : from) {
                if (r != null && !r.done) {
                    r.cancel();
                }
            }
        }
    }

    @Override public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            MPI.Finalize();
        } catch (MPIException e) {
            throw mpiFailure("MPI_Finalize", TransportException.NONE, TransportException.NONE, TransportException.NONE, e);
        }
    }

    private void checkCaller(String op, int peer, int tag, long bytes) {
        if (closed) {
            throw new TransportException(op, rank, peer, tag, bytes, "the transport is closed (MPI finalised)");
        }
        if (Thread.currentThread() != owner) {
            throw new TransportException(op, rank, peer, tag, bytes, "called from thread '"
                    + Thread.currentThread().getName() + "', but MPI was initialised on '" + owner.getName()
                    + "': one thread per rank talks to MPI");
        }
    }

    /** The abort notice that ends this rank's waits: one received earlier, or one pending now. */
    private AbortNotice pendingNotice() {
        if (notice != null) {
            return notice;
        }
        try {
            return receiveNotice();
        } catch (MPIException e) {
            return null; // no notice could be read: the wait goes on until its own timeout
        }
    }

    private TransportException mpiFailure(String op, int peer, int tag, long bytes, MPIException e) {
        return new TransportException(op, rank, peer, tag, bytes,
                "MPI error class " + e.getErrorClass() + ": " + e.getMessage(), e);
    }

    /** Polls MPI_Test: spins briefly (latency), then backs off (to leave the core to compute). */
    private final class MpiRequest implements Request {
        private final String op;
        private final mpi.Request request;
        private final Datatype recvType;
        private final int peer;
        private final int tag;
        private final long bytes;
        /** For a collective: who has entered it (names the missing ranks on a timeout); else null. */
        private final Arrivals arrivals;
        private boolean done;
        private int count;

        MpiRequest(String op, mpi.Request request, Datatype recvType, int count, int peer, int tag, long bytes) {
            this(op, request, recvType, count, peer, tag, bytes, null);
        }

        MpiRequest(String op, mpi.Request request, Datatype recvType, int count, int peer, int tag, long bytes,
                   Arrivals arrivals) {
            this.op = op;
            this.request = request;
            this.recvType = recvType;
            this.count = count;
            this.peer = peer;
            this.tag = tag;
            this.bytes = bytes;
            this.arrivals = arrivals;
        }

        void cancel() {
            try {
                request.cancel();
            } catch (MPIException | RuntimeException ignored) {
                // the operation is abandoned either way
            }
        }

        @Override public boolean test() {
            if (done) {
                return true;
            }
            checkCaller(op, peer, tag, bytes);
            try {
                Status status = request.testStatus();
                if (status == null) {
                    return false;
                }
                if (recvType != null) {
                    count = status.getCount(recvType);
                }
                done = true;
                return true;
            } catch (MPIException e) {
                done = true;
                throw mpiFailure(op, peer, tag, bytes, e);
            }
        }

        @Override public int await() {
            if (done) {
                return count;
            }
            long start = System.nanoTime();
            long deadline = start + timeout.toNanos();
            long spinUntil = start + 200_000; // 200 us of pure polling keeps small-message latency low
            long nextNoticeCheck = spinUntil;
            long pause = 1_000;
            long lastPoll = start;
            long suspended = 0;
            while (!test()) {
                long now = System.nanoTime();
                if (now - lastPoll > SUSPENDED_GAP_NANOS) {
                    suspended += now - lastPoll;
                    deadline += now - lastPoll;
                }
                lastPoll = now;
                if (now > deadline) {
                    int[] missing = arrivals == null ? null : arrivals.notArrived();
                    cancel();
                    Duration away = Duration.ofNanos(suspended);
                    throw peer == TransportException.NONE
                            ? new TransportTimeoutException(op, rank, bytes, timeout, missing, away)
                            : new TransportTimeoutException(op, rank, peer, tag, bytes, timeout, away);
                }
                if (now < spinUntil) {
                    Thread.onSpinWait();
                    continue;
                }
                if (now >= nextNoticeCheck) {
                    nextNoticeCheck = now + NOTICE_POLL_NANOS;
                    AbortNotice n = pendingNotice();
                    if (n != null) {
                        int[] missing = arrivals == null ? null : arrivals.notArrived();
                        cancel();
                        throw new TransportAbortedException(op, rank, peer, tag, bytes, n.origin(), n.code(),
                                n.message(), Duration.ofNanos(now - start - suspended), missing,
                                Duration.ofNanos(suspended));
                    }
                }
                LockSupport.parkNanos(pause);
                pause = Math.min(pause * 2, 100_000);
            }
            return count;
        }
    }
}
