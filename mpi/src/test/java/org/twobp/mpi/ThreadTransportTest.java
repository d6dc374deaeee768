package org.twobp.mpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

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
