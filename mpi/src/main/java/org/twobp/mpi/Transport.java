package org.twobp.mpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.time.Duration;

/**
 * How pipeline ranks talk: tagged point-to-point messages, small all-reduces, a barrier and
 * an abort that ends every rank.
 *
 * <p>Contract, shared by {@link MpiTransport} and {@link ThreadTransport}:
 * <ul>
 *   <li>A message is the region {@code position..limit} of a <em>direct</em> buffer (see
 *       {@link #allocateFloats}); the buffer's position and limit are not changed.</li>
 *   <li>Messages from one source with one tag arrive in the order they were sent; messages
 *       with different tags are matched by tag, whatever the order they were sent in.</li>
 *   <li>A receive buffer may be larger than the message; {@link Request#await()} returns the
 *       number of elements that arrived. A message larger than the receive buffer is an error.</li>
 *   <li>A buffer handed to {@code isend}/{@code irecv} must not be touched until its request
 *       completes. A blocking {@code send} of a large message may wait for the matching receive
 *       (as MPI's does), so code must not rely on sends being buffered.</li>
 *   <li>No operation waits longer than {@link #timeout()}: a peer that is gone or stuck turns
 *       into a {@link TransportTimeoutException} naming the operation, rank, peer, tag and size,
 *       never a hang. It says whom it waited for ({@code waitedFor()}): the peer of a send or
 *       receive; in a collective the ranks that had not arrived, where this rank can know them
 *       (in-process every rank does; under MPI rank 0 does).</li>
 *   <li>Failures are {@link TransportException}s (unchecked) carrying rank, peer, tag and size.</li>
 *   <li>One thread per rank uses the transport (the executor's loop).</li>
 * </ul>
 * Tags from 0 to {@link #MIN_TAG_UB} are valid on every implementation.
 */
public interface Transport extends AutoCloseable {

    /** Smallest tag upper bound MPI guarantees; every implementation accepts tags 0..32767. */
    int MIN_TAG_UB = 32767;

    /** Default wait limit for any operation; generous, because a peer may be checkpointing. */
    Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    int rank();

    int size();

    /** Where this rank runs: world and node-local rank and size, node index. */
    RankInfo rankInfo();

    /** Largest valid tag on this transport (at least {@link #MIN_TAG_UB}). */
    int maxTag();

    /** How long any single operation may wait before it fails with a timeout. */
    Duration timeout();

    void setTimeout(Duration timeout);

    Request isend(FloatBuffer data, int dest, int tag);

    Request irecv(FloatBuffer data, int source, int tag);

    Request isend(ByteBuffer data, int dest, int tag);

    Request irecv(ByteBuffer data, int source, int tag);

    default void send(FloatBuffer data, int dest, int tag) {
        isend(data, dest, tag).await();
    }

    /** Returns the number of floats received. */
    default int recv(FloatBuffer data, int source, int tag) {
        return irecv(data, source, tag).await();
    }

    default void send(ByteBuffer data, int dest, int tag) {
        isend(data, dest, tag).await();
    }

    /** Returns the number of bytes received. */
    default int recv(ByteBuffer data, int source, int tag) {
        return irecv(data, source, tag).await();
    }

    /**
     * In place: every rank ends with the element-wise reduction over all ranks. Floats are
     * reduced in double and rounded once, so every implementation gives the same result.
     */
    default void allreduce(float[] values, ReduceOp op) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = values[i];
        }
        allreduce(d, op);
        for (int i = 0; i < d.length; i++) {
            values[i] = (float) d[i];
        }
    }

    /** In place: every rank ends with the element-wise reduction over all ranks. */
    void allreduce(double[] values, ReduceOp op);

    void barrier();

    /**
     * Ends every rank of the job: prints {@code message} with this rank's number, then takes
     * the whole job down with exit code {@code code}. Before it does, the other ranks' waits end
     * with a {@link TransportAbortedException} that names this rank and what each was waiting
     * for, so that they can say so (over MPI the abort waits a few seconds for them). Never
     * returns normally; an in-process transport throws {@link TransportAbortedException} instead
     * of exiting the JVM.
     */
    void abort(int code, String message);

    /** Releases the transport (MPI_Finalize for MPI). Idempotent. */
    @Override
    void close();

    /** A direct, native-order float buffer of {@code count} elements: what transports send from. */
    static FloatBuffer allocateFloats(int count) {
        return allocateBytes(Math.multiplyExact(count, Float.BYTES)).asFloatBuffer();
    }

    /** A direct, native-order byte buffer of {@code count} bytes. */
    static ByteBuffer allocateBytes(int count) {
        return ByteBuffer.allocateDirect(count).order(ByteOrder.nativeOrder());
    }
}
