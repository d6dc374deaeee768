package org.twobp.tests.transport;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.twobp.mpi.ReduceOp;
import org.twobp.mpi.Request;
import org.twobp.mpi.Transport;
import org.twobp.mpi.TransportException;
import org.twobp.mpi.TransportTimeoutException;

/**
 * The behaviour every {@link Transport} must show, written once and run against each
 * implementation: in-process ({@code ThreadTransportContractTest}) and under real
 * {@code mpirun} ({@code MpiTransportContractTest}, through {@link ContractMain}).
 *
 * <p>Each check is SPMD code: every rank runs it, and a failing expectation throws
 * {@link AssertionError} naming the rank. Checks need at least two ranks.
 */
public final class TransportContract {

    /** One named check. */
    public record Check(String name, CheckBody body) {
    }

    @FunctionalInterface
    public interface CheckBody {
        void run(Transport t);
    }

    /** Sizes for the round trips: empty, one, odd, around the eager limit, and over 64 MiB. */
    static final int[] FLOAT_COUNTS = {0, 1, 3, 1023, 16_385, 65_537, (64 << 20) / Float.BYTES + 5};
    static final int[] BYTE_COUNTS = {0, 1, 7, 4099, 65_537, (64 << 20) + 3};

    public static final List<Check> CHECKS = List.of(
            new Check("round-trip-floats", TransportContract::roundTripFloats),
            new Check("round-trip-bytes", TransportContract::roundTripBytes),
            new Check("blocking-pairs", TransportContract::blockingPairs),
            new Check("out-of-order-tags", TransportContract::outOfOrderTags),
            new Check("same-tag-order", TransportContract::sameTagOrder),
            new Check("overlap-with-compute", TransportContract::overlapWithCompute),
            new Check("allreduce", TransportContract::allreduce),
            new Check("barrier", TransportContract::barrier),
            new Check("errors-name-the-call", TransportContract::errorsNameTheCall),
            new Check("truncation-is-an-error", TransportContract::truncationIsAnError),
            new Check("receive-timeout", TransportContract::receiveTimeout));

    private TransportContract() {
    }

    static int next(Transport t) { return (t.rank() + 1) % t.size(); }

    static int prev(Transport t) { return (t.rank() - 1 + t.size()) % t.size(); }

    static float floatPattern(int source, int i) { return source * 1_000_003f + (i % 1_000_000) * 0.5f - 7f; }

    static byte bytePattern(int source, int i) { return (byte) (i * 131 + source * 17 + 3); }

    static void check(Transport t, boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("rank " + t.rank() + ": " + what);
        }
    }

    /** Every rank sends to the next and receives from the previous, for every size. */
    static void roundTripFloats(Transport t) {
        for (int n : FLOAT_COUNTS) {
            FloatBuffer out = Transport.allocateFloats(n);
            for (int i = 0; i < n; i++) {
                out.put(i, floatPattern(t.rank(), i));
            }
            FloatBuffer in = Transport.allocateFloats(n + 2); // larger than the message on purpose
            Request r = t.irecv(in, prev(t), 10);
            Request s = t.isend(out, next(t), 10);
            check(t, s.await() == n, "isend of " + n + " floats reports " + s.await());
            int got = r.await();
            check(t, got == n, "received " + got + " floats, sent " + n);
            int src = prev(t);
            for (int i = 0; i < n; i++) {
                if (in.get(i) != floatPattern(src, i)) {
                    throw new AssertionError("rank " + t.rank() + ": float " + i + " of " + n + " is " + in.get(i)
                            + ", expected " + floatPattern(src, i));
                }
            }
            check(t, out.position() == 0 && out.limit() == n, "send changed the buffer's position/limit");
            t.barrier(); // let the big buffers go before the next size
        }
        // a region in the middle of a buffer: only position..limit travels
        FloatBuffer out = Transport.allocateFloats(10);
        for (int i = 0; i < 10; i++) {
            out.put(i, floatPattern(t.rank(), i));
        }
        out.position(3).limit(8);
        FloatBuffer in = Transport.allocateFloats(10);
        in.position(2);
        Request r = t.irecv(in, prev(t), 11);
        t.isend(out, next(t), 11).await();
        check(t, r.await() == 5, "region send: expected 5 floats");
        for (int i = 0; i < 5; i++) {
            check(t, in.get(2 + i) == floatPattern(prev(t), 3 + i), "region element " + i + " wrong");
        }
        check(t, in.get(0) == 0f && in.get(1) == 0f && in.get(7) == 0f, "receive wrote outside its region");
    }

    static void roundTripBytes(Transport t) {
        for (int n : BYTE_COUNTS) {
            ByteBuffer out = Transport.allocateBytes(n);
            for (int i = 0; i < n; i++) {
                out.put(i, bytePattern(t.rank(), i));
            }
            ByteBuffer in = Transport.allocateBytes(n);
            Request r = t.irecv(in, prev(t), 12);
            Request s = t.isend(out, next(t), 12);
            int got = r.await();
            s.await();
            check(t, got == n, "received " + got + " bytes, sent " + n);
            int src = prev(t);
            for (int i = 0; i < n; i++) {
                if (in.get(i) != bytePattern(src, i)) {
                    throw new AssertionError("rank " + t.rank() + ": byte " + i + " of " + n + " is " + in.get(i));
                }
            }
            t.barrier();
        }
    }

    /** Blocking send/recv in matched order between pairs (0,1), (2,3), ...; an odd last rank sits out. */
    static void blockingPairs(Transport t) {
        int partner = t.rank() % 2 == 0 ? t.rank() + 1 : t.rank() - 1;
        if (partner < t.size()) {
            for (int n : new int[] {1, 100_000, 4 << 20}) {
                FloatBuffer out = Transport.allocateFloats(n);
                FloatBuffer in = Transport.allocateFloats(n);
                for (int i = 0; i < n; i++) {
                    out.put(i, floatPattern(t.rank(), i));
                }
                if (t.rank() % 2 == 0) {
                    t.send(out, partner, 20);
                    check(t, t.recv(in, partner, 21) == n, "blocking recv count");
                } else {
                    check(t, t.recv(in, partner, 20) == n, "blocking recv count");
                    t.send(out, partner, 21);
                }
                check(t, in.get(n - 1) == floatPattern(partner, n - 1) && in.get(0) == floatPattern(partner, 0),
                        "blocking payload of " + n + " floats wrong");
            }
        }
        t.barrier();
    }

    /** Sent with tags 5,4,3,2,1 and received as 1,2,3,4,5: matching is by tag, not arrival. */
    static void outOfOrderTags(Transport t) {
        int partner = t.rank() % 2 == 0 ? t.rank() + 1 : t.rank() - 1;
        if (partner < t.size()) {
            int[] sizes = {4, 70_000, 9, 300_000, 1}; // eager and rendezvous mixed
            if (t.rank() % 2 == 0) {
                List<Request> sends = new ArrayList<>();
                for (int tag = 5; tag >= 1; tag--) {
                    FloatBuffer out = Transport.allocateFloats(sizes[tag - 1]);
                    for (int i = 0; i < out.capacity(); i++) {
                        out.put(i, tag * 100f + i);
                    }
                    sends.add(t.isend(out, partner, 30 + tag));
                }
                Request.awaitAll(sends);
            } else {
                for (int tag = 1; tag <= 5; tag++) {
                    FloatBuffer in = Transport.allocateFloats(sizes[tag - 1]);
                    int got = t.recv(in, partner, 30 + tag);
                    check(t, got == sizes[tag - 1], "tag " + tag + ": got " + got + " floats");
                    check(t, in.get(0) == tag * 100f && in.get(got - 1) == tag * 100f + got - 1,
                            "tag " + tag + " matched the wrong message");
                }
            }
        }
        t.barrier();
    }

    /** Messages with the same source and tag arrive in the order they were sent. */
    static void sameTagOrder(Transport t) {
        int count = 20;
        List<Request> sends = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            ByteBuffer out = Transport.allocateBytes(k % 3 == 0 ? 100_000 : 8);
            out.put(0, (byte) k);
            sends.add(t.isend(out, next(t), 40));
        }
        for (int k = 0; k < count; k++) {
            ByteBuffer in = Transport.allocateBytes(100_000);
            int got = t.recv(in, prev(t), 40);
            check(t, in.get(0) == (byte) k, "message " + k + " overtaken: got " + in.get(0));
            check(t, got == (k % 3 == 0 ? 100_000 : 8), "message " + k + " has " + got + " bytes");
        }
        Request.awaitAll(sends);
        t.barrier();
    }

    /**
     * Non-blocking operations progress while the rank computes: receives are posted, sends
     * started, then the rank computes and polls with test() (which must never block), and the
     * data is intact at the end. Prints the measured overlap on rank 0.
     */
    static void overlapWithCompute(Transport t) {
        int n = 8 << 20; // 32 MiB: far above any eager limit
        FloatBuffer out = Transport.allocateFloats(n);
        for (int i = 0; i < n; i += 4096) {
            out.put(i, floatPattern(t.rank(), i));
        }
        FloatBuffer in = Transport.allocateFloats(n);
        t.barrier();
        long commStart = System.nanoTime();
        Request r = t.irecv(in, prev(t), 50);
        Request s = t.isend(out, next(t), 50);
        s.await();
        r.await();
        long commOnly = System.nanoTime() - commStart;
        t.barrier();

        long start = System.nanoTime();
        r = t.irecv(in, prev(t), 51);
        s = t.isend(out, next(t), 51);
        double acc = 0;
        long worstTest = 0;
        int polls = 0;
        for (int block = 0; block < 200; block++) {
            for (int i = 0; i < 20_000; i++) {
                acc += Math.sqrt(i + block);
            }
            long before = System.nanoTime();
            r.test();
            s.test();
            worstTest = Math.max(worstTest, System.nanoTime() - before);
            polls++;
        }
        long computeDone = System.nanoTime() - start;
        s.await();
        r.await();
        long overlapped = System.nanoTime() - start;
        check(t, acc > 0, "compute result");
        for (int i = 0; i < n; i += 4096) {
            check(t, in.get(i) == floatPattern(prev(t), i), "overlapped payload element " + i + " wrong");
        }
        // test() is a poll: it must return promptly even when the transfer is far from done
        check(t, worstTest < 2_000_000_000L, "test() blocked for " + worstTest / 1e6 + " ms");
        if (t.rank() == 0) {
            System.out.printf("contract: overlap: 32 MiB exchange alone %.1f ms; compute %.1f ms with %d polls "
                            + "(slowest test() %.3f ms); both overlapped %.1f ms%n",
                    commOnly / 1e6, computeDone / 1e6, polls, worstTest / 1e6, overlapped / 1e6);
        }
        t.barrier();
    }

    static void allreduce(Transport t) {
        int p = t.size();
        float[] f = {t.rank() + 1, -t.rank(), 0.5f, t.rank() == p - 1 ? 1e6f : 0f};
        t.allreduce(f, ReduceOp.SUM);
        check(t, f[0] == p * (p + 1) / 2f && f[1] == -p * (p - 1) / 2f && f[2] == 0.5f * p && f[3] == 1e6f,
                "float sum " + java.util.Arrays.toString(f));
        double[] d = {t.rank(), -t.rank(), 1e300 * (t.rank() == 0 ? 1 : -1)};
        t.allreduce(d, ReduceOp.MAX);
        check(t, d[0] == p - 1 && d[1] == 0 && d[2] == 1e300, "double max " + java.util.Arrays.toString(d));
        double[] big = new double[1000];
        for (int i = 0; i < big.length; i++) {
            big[i] = i * (t.rank() + 1);
        }
        t.allreduce(big, ReduceOp.SUM);
        for (int i = 0; i < big.length; i++) {
            check(t, big[i] == i * (double) p * (p + 1) / 2, "1000-element sum at " + i);
        }
        float[] empty = new float[0];
        t.allreduce(empty, ReduceOp.MAX);
    }

    /** No rank leaves a barrier before the last one has entered it. */
    static void barrier(Transport t) {
        t.barrier();
        long entered = System.nanoTime();
        if (t.rank() == t.size() - 1) {
            sleep(300);
        }
        t.barrier();
        long waited = (System.nanoTime() - entered) / 1_000_000;
        check(t, waited >= 250, "left the barrier after " + waited + " ms, before the last rank arrived (300 ms)");
    }

    /** Bad arguments fail at once with the rank, peer and tag in the message, and the job goes on. */
    static void errorsNameTheCall(Transport t) {
        expectFailure(t, () -> t.isend(Transport.allocateFloats(4), t.size(), 7), "peer " + t.size(), "tag 7",
                "invalid rank");
        expectFailure(t, () -> t.irecv(Transport.allocateBytes(4), 0, -3), "peer 0", "tag -3", "invalid tag");
        expectFailure(t, () -> t.isend(FloatBuffer.allocate(4), next(t), 8), "tag 8", "not direct");
        t.barrier();
    }

    /**
     * A message larger than the posted receive is an MPI error (MPI_ERR_TRUNCATE): reported as an
     * exception naming rank, peer and tag, not a crash of the job.
     */
    static void truncationIsAnError(Transport t) {
        Request r = t.irecv(Transport.allocateFloats(10), prev(t), 60);
        Request s = t.isend(Transport.allocateFloats(100), next(t), 60);
        expectFailure(t, r::await, "irecv", "peer " + prev(t), "tag 60");
        try {
            s.await();
        } catch (TransportException e) {
            // MPI may report the truncation on the sender too; either way the job lives on
        }
        t.barrier();
        // the transport is still usable
        allreduce(t);
    }

    /** A receive nobody answers fails after the timeout, naming peer and tag; nothing hangs. */
    static void receiveTimeout(Transport t) {
        Duration saved = t.timeout();
        t.setTimeout(Duration.ofMillis(400));
        long start = System.nanoTime();
        try {
            t.recv(Transport.allocateFloats(4), prev(t), 77);
            throw new AssertionError("rank " + t.rank() + ": a receive nobody answers returned");
        } catch (TransportTimeoutException e) {
            long ms = (System.nanoTime() - start) / 1_000_000;
            check(t, ms >= 350 && ms < 5000, "timed out after " + ms + " ms, asked for 400");
            check(t, e.getMessage().contains("peer " + prev(t)) && e.getMessage().contains("tag 77")
                    && e.peer() == prev(t) && e.tag() == 77 && e.rank() == t.rank(), "timeout message: " + e.getMessage());
        } finally {
            t.setTimeout(saved);
        }
        t.barrier();
    }

    private static void expectFailure(Transport t, Runnable call, String... mustMention) {
        try {
            call.run();
        } catch (TransportException e) {
            String m = e.getMessage();
            check(t, m.contains("rank " + t.rank()), "error does not name the rank: " + m);
            for (String s : mustMention) {
                check(t, m.contains(s), "error does not mention '" + s + "': " + m);
            }
            return;
        }
        throw new AssertionError("rank " + t.rank() + ": expected a TransportException mentioning "
                + String.join(", ", mustMention));
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
