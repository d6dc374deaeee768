package org.twobp.mpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/** What is particular to the in-process transport; the shared contract lives in the tests module. */
class ThreadTransportTest {

    @Test
    void smallSendsAreBufferedSoBothRanksMaySendFirst() {
        ThreadTransport.run(2, t -> {
            t.setTimeout(Duration.ofSeconds(5));
            int peer = 1 - t.rank();
            t.send(Transport.allocateBytes(ThreadTransport.EAGER_LIMIT_BYTES), peer, 1);
            assertEquals(ThreadTransport.EAGER_LIMIT_BYTES, t.recv(Transport.allocateBytes(ThreadTransport.EAGER_LIMIT_BYTES), peer, 1));
        });
    }

    @Test
    void largeBlockingSendsFirstOnBothSidesDeadlockAsUnderMpiAndTheTimeoutSaysSo() {
        TransportTimeoutException e = assertThrows(TransportTimeoutException.class, () ->
                ThreadTransport.run(2, t -> {
                    t.setTimeout(Duration.ofMillis(300));
                    int peer = 1 - t.rank();
                    t.send(Transport.allocateFloats(1 << 20), peer, 2);
                    t.recv(Transport.allocateFloats(1 << 20), peer, 2);
                }));
        assertTrue(e.getMessage().contains("isend") && e.getMessage().contains("tag 2")
                && e.getMessage().contains((4L << 20) + " bytes"), e.getMessage());
    }

    @Test
    void mismatchedCollectivesAreAnErrorNotAHang() {
        TransportException e = assertThrows(TransportException.class, () ->
                ThreadTransport.run(2, t -> {
                    t.setTimeout(Duration.ofSeconds(5));
                    if (t.rank() == 0) {
                        t.barrier();
                    } else {
                        Thread.sleep(100); // rank 0 is in its barrier by now
                        t.allreduce(new double[1], ReduceOp.SUM);
                    }
                }));
        assertTrue(e.getMessage().contains("collective mismatch"), e.getMessage());
    }

    /**
     * Four ranks pass a message down the pipeline and back each step; rank 2 hangs in its
     * "action" of step 3 (sleeps, as a SIGSTOPped process would). Its neighbours time out or are
     * stopped by the first timeout, and each names rank 2 as the peer it waited for; rank 0 names
     * rank 1, whom it waited for; the job ends although rank 2 never returns by itself.
     */
    @Test
    void aHungRankIsNamedByTheRanksThatWaitedForIt() {
        long start = System.nanoTime();
        RuntimeException e = assertThrows(RuntimeException.class, () -> ThreadTransport.run(4, t -> {
            t.setTimeout(Duration.ofSeconds(1));
            int r = t.rank();
            for (int step = 1; step <= 5; step++) {
                if (r > 0) {
                    t.recv(Transport.allocateFloats(4), r - 1, 1);
                }
                if (r == 2 && step == 3) {
                    Thread.sleep(Long.MAX_VALUE);
                }
                if (r < 3) {
                    t.send(Transport.allocateFloats(4), r + 1, 1);
                    t.recv(Transport.allocateFloats(4), r + 1, 2);
                }
                if (r > 0) {
                    t.send(Transport.allocateFloats(4), r - 1, 2);
                }
            }
        }));
        double seconds = (System.nanoTime() - start) / 1e9;
        Map<Integer, Throwable> byRank = byRank(e);
        assertTrue(byRank.keySet().containsAll(List.of(0, 1, 3)), "every waiting rank reports: " + byRank);
        for (int r : List.of(1, 3)) {
            assertEquals(List.of(2), waitedFor(byRank.get(r)), "rank " + r + ": " + byRank.get(r));
            assertTrue(byRank.get(r).getMessage().contains("peer 2"), byRank.get(r).getMessage());
        }
        assertEquals(List.of(1), waitedFor(byRank.get(0)), "rank 0 waited for rank 1: " + byRank.get(0));
        assertTrue(byRank.values().stream().anyMatch(TransportTimeoutException.class::isInstance),
                "one rank timed out: " + byRank);
        assertTrue(seconds < 10, "the job took " + seconds + " s to end around a hung rank");
    }

    /** Rank 2 never reaches the all-reduce: every rank that did times out naming rank 2 as the one missing. */
    @Test
    void aCollectiveTimeoutNamesTheRanksThatHadNotArrived() {
        RuntimeException e = assertThrows(RuntimeException.class, () -> ThreadTransport.run(4, t -> {
            t.setTimeout(Duration.ofSeconds(1));
            t.allreduce(new double[1], ReduceOp.SUM);
            if (t.rank() == 2) {
                Thread.sleep(Long.MAX_VALUE);
            }
            t.allreduce(new double[1], ReduceOp.SUM);
        }));
        Map<Integer, Throwable> byRank = byRank(e);
        for (int r : List.of(0, 1, 3)) {
            assertEquals(List.of(2), waitedFor(byRank.get(r)), "rank " + r + ": " + byRank.get(r));
        }
        assertTrue(e instanceof TransportTimeoutException && e.getMessage().contains("rank 2 had not arrived"),
                e.getMessage());
    }

    /** The failures of a job by the rank they name as their own (transport exceptions only). */
    private static Map<Integer, Throwable> byRank(Throwable first) {
        List<Throwable> all = new ArrayList<>(List.of(first));
        all.addAll(List.of(first.getSuppressed()));
        Map<Integer, Throwable> m = new TreeMap<>();
        for (Throwable t : all) {
            if (t instanceof TransportException te) {
                m.put(te.rank(), t);
            }
        }
        return m;
    }

    private static List<Integer> waitedFor(Throwable t) {
        if (t instanceof TransportTimeoutException e) {
            return e.waitedFor();
        }
        if (t instanceof TransportAbortedException e) {
            return e.waitedFor();
        }
        throw new AssertionError("not a timed-out or cut-short wait: " + t);
    }

    @Test
    void selfTestMeasuresInProcessLinks() {
        StringBuilder out = new StringBuilder();
        ThreadTransport.run(3, t -> {
            var links = new java.util.ArrayList<SelfTest.Link>();
            for (int peer = 1; peer < t.size(); peer++) {
                SelfTest.Link l = SelfTest.pingPong(t, peer, 1 << 16, 0.01);
                if (l != null) {
                    links.add(l);
                }
            }
            double ar = SelfTest.timeAllreduce(t);
            if (t.rank() == 0) {
                out.append(SelfTest.report(t.size(), "threads", SelfTest.describeRanks(t), links, ar, 0));
            } else {
                SelfTest.describeRanks(t);
            }
        });
        String report = out.toString();
        assertTrue(report.contains("0 <-> 1") && report.contains("0 <-> 2") && report.contains("self-test: OK"), report);
    }
}
