package org.twobp.worker.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.twobp.mpi.TransportAbortedException;
import org.twobp.mpi.TransportException;
import org.twobp.mpi.TransportTimeoutException;

/** The line a rank prints about a wait, and the same line read back as the launcher reads it. */
class StalledWaitTest {

    @Test
    void aReceiveTimeoutNamesPeerStageMessageAndFix() {
        var e = new TransportTimeoutException("irecv", 1, 2, 12, 131072, Duration.ofSeconds(20));
        StalledWait w = StalledWait.of(1, 1, 285, "action I0", 2, "to send the gradient of micro-batch 0", e);
        assertEquals("rank 1 (stage 1) timed out at step 285 in action I0 waiting for rank 2 (stage 2) to send the"
                + " gradient of micro-batch 0: no answer within 20.0 s (irecv tag 12, 131072 bytes); if it is alive but"
                + " slow, raise pipeline.timeout_s", w.line());
        assertEquals(w, StalledWait.parse("[twobp] " + w.line()));
    }

    @Test
    void aCollectiveTimeoutNamesTheRanksThatHadNotArrivedWhereKnown() {
        var known = new TransportTimeoutException("allreduce(3 doubles, SUM)", 0, 24, Duration.ofSeconds(20), new int[] {2, 3});
        StalledWait w = StalledWait.of(0, 0, 7, "the all-reduce of gradient norm and loss", -1, "", known);
        assertTrue(w.line().startsWith("rank 0 (stage 0) timed out at step 7 in the all-reduce of gradient norm and loss"
                + " waiting for ranks 2 and 3 to arrive: no answer within 20.0 s (allreduce[3 doubles, SUM], 24 bytes)"),
                w.line());
        assertEquals(w, StalledWait.parse("0: [twobp] " + w.line()));

        var unknown = new TransportTimeoutException("barrier", 3, TransportException.NONE, Duration.ofMillis(1500), null);
        StalledWait u = StalledWait.of(3, -1, -1, "the barrier", -1, "", unknown);
        assertEquals("rank 3 timed out in the barrier: no answer within 1.5 s (barrier); rank 0's report names the ranks"
                + " that had not arrived", u.line());
        assertEquals(u, StalledWait.parse("[twobp] " + u.line()));
        assertEquals(List.of(), u.peers());
    }

    @Test
    void aWaitCutShortByAnotherRanksAbortSaysWhoEndedTheJob() {
        var e = new TransportAbortedException("irecv", 3, 2, 18, 131072, 1, 1, "rank 1 timed out", Duration.ofMillis(19900), null);
        StalledWait w = StalledWait.of(3, 3, 285, "action F2", 2, "to send the activation of micro-batch 2",
                new IllegalStateException("wrapped", e));
        assertEquals("rank 3 (stage 3) stopped at step 285 in action F2 waiting for rank 2 (stage 2) to send the"
                + " activation of micro-batch 2: no answer in 19.9 s, then rank 1 ended the job (irecv tag 18, 131072"
                + " bytes)", w.line());
        assertEquals(w, StalledWait.parse("[twobp] " + w.line()));
        assertEquals(1, w.endedBy());
    }

    @Test
    void aRankThatWasItselfSuspendedSaysSo() {
        var e = new TransportAbortedException("allreduce(4 doubles, MAX)", 2, TransportException.NONE,
                TransportException.NONE, 32, 3, 1, "rank 3 timed out", Duration.ZERO, null, Duration.ofMillis(12300));
        StalledWait w = StalledWait.of(2, 2, 21, "the all-reduce of step times and memory", -1, "", e);
        assertEquals("rank 2 (stage 2) stopped at step 21 in the all-reduce of step times and memory: no answer in 0.0 s,"
                + " then rank 3 ended the job, though this rank was itself suspended for 12.3 s (allreduce[4 doubles,"
                + " MAX], 32 bytes)", w.line());
        assertEquals(w, StalledWait.parse("[twobp] " + w.line()));
        var all = new TransportTimeoutException("allreduce(4 doubles, MAX)", 0, 32, Duration.ofSeconds(10), new int[0]);
        StalledWait a = StalledWait.of(0, 0, 21, "the all-reduce of step times and memory", -1, "", all);
        assertTrue(a.allArrived() && a.line().endsWith("; every rank had arrived, so one of them stopped inside it"),
                a.line());
        assertEquals(a, StalledWait.parse("[twobp] " + a.line()));
    }

    @Test
    void otherFailuresAndOtherLinesAreNoWait() {
        assertNull(StalledWait.of(1, 1, 3, "action I0", 2, "", new IllegalStateException("injected failure")));
        // the aborting rank's own exception is not a wait
        assertNull(StalledWait.of(3, 3, 3, "action I0", 2, "", new TransportAbortedException("abort", 3, 3, 1, "x")));
        assertNull(StalledWait.parse("[twobp] rank 2 (stage 2) failed at step 3 in action I0: injected failure"));
        // the abort line repeats the rank's own line after another prefix: counted once, from the line itself
        assertNull(StalledWait.parse("[twobp] rank 1 aborts the job (exit code 1): rank 1 (stage 1) timed out at"
                + " step 3 in action I0 waiting for rank 2 (stage 2) to send the gradient of micro-batch 0: no answer"
                + " within 1.0 s (irecv tag 12, 96 bytes)"));
    }
}
