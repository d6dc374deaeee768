package org.twobp.mpi;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.time.Duration;

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
 * </ul>
 * Single-threaded: the thread that initialised MPI is the one that may use it.
 */
public final class MpiTransport implements Transport {

    private static MpiTransport instance;

    private final Intracomm world;
    private final int rank;
    private final int size;
    private final int maxTag;
    private final RankInfo rankInfo;
    private final Thread owner;
    private final DoubleBuffer reduceScratch = Transport.allocateBytes(64 * Double.BYTES).asDoubleBuffer();
    private volatile Duration timeout = DEFAULT_TIMEOUT;
    private boolean closed;

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
        try {
            mpi.Request r = world.iAllReduce(buf, values.length, MPI.DOUBLE, mpiOp);
            new MpiRequest(name, r, null, values.length, TransportException.NONE, TransportException.NONE,
                    (long) values.length * Double.BYTES).await();
        } catch (MPIException e) {
            throw mpiFailure(name, TransportException.NONE, TransportException.NONE, (long) values.length * Double.BYTES, e);
        }
        buf.clear();
        buf.get(values, 0, values.length);
    }

    @Override public void barrier() {
        checkCaller("barrier", TransportException.NONE, TransportException.NONE, TransportException.NONE);
        try {
            new MpiRequest("barrier", world.iBarrier(), null, 0, TransportException.NONE, TransportException.NONE,
                    TransportException.NONE).await();
        } catch (MPIException e) {
            throw mpiFailure("barrier", TransportException.NONE, TransportException.NONE, TransportException.NONE, e);
        }
    }

    @Override public void abort(int code, String message) {
        System.out.flush();
        System.err.println("[twobp] rank " + rank + " aborts the job (exit code " + code + "): " + message);
        System.err.flush();
        try {
            world.abort(code);
        } catch (MPIException e) {
            // abort failed: the least we can do is end this process with the code
        }
        Runtime.getRuntime().halt(code == 0 ? 1 : code);
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
        private boolean done;
        private int count;

        MpiRequest(String op, mpi.Request request, Datatype recvType, int count, int peer, int tag, long bytes) {
            this.op = op;
            this.request = request;
            this.recvType = recvType;
            this.count = count;
            this.peer = peer;
            this.tag = tag;
            this.bytes = bytes;
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
            long pause = 1_000;
            while (!test()) {
                long now = System.nanoTime();
                if (now > deadline) {
                    try {
                        request.cancel();
                    } catch (MPIException | RuntimeException ignored) {
                        // the operation is abandoned either way
                    }
                    throw new TransportTimeoutException(op, rank, peer, tag, bytes, timeout);
                }
                if (now < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    java.util.concurrent.locks.LockSupport.parkNanos(pause);
                    pause = Math.min(pause * 2, 100_000);
                }
            }
            return count;
        }
    }
}
