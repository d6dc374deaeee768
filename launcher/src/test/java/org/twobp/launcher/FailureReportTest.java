package org.twobp.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/**
 * The failure report of a 4-rank job in which one rank hung: it names the hung rank, never a
 * rank that only waited for it, from what the ranks printed (lines as the ranks print them).
 */
class FailureReportTest {

    private static final String STEP = "step     40/100000 | loss 1.8908 | acc 0.213 | 7108 tok/s | 0.29 s";

    /**
     * Rank 2 was SIGSTOPped under mpirun (the logs of such a run): ranks 1 and 3 timed out waiting
     * for it, rank 0 timed out waiting for rank 1; mpirun's SIGCONT before its kill woke rank 2,
     * which then reported the wait it had only just begun.
     */
    static Map<Integer, List<String>> sigstoppedRank2() {
        Map<Integer, List<String>> logs = new TreeMap<>();
        logs.put(0, List.of(STEP,
                "[twobp] rank 0 (stage 0) timed out at step 47 in action I2 waiting for rank 1 (stage 1) to send the"
                        + " gradient of micro-batch 2: no answer within 20.0 s (irecv tag 6, 131072 bytes); if it is"
                        + " alive but slow, raise pipeline.timeout_s",
                "[twobp] rank 0 aborts the job (exit code 1): rank 0 (stage 0) timed out at step 47 in action I2 waiting"
                        + " for rank 1 (stage 1) to send the gradient of micro-batch 2: no answer within 20.0 s (irecv"
                        + " tag 6, 131072 bytes); if it is alive but slow, raise pipeline.timeout_s"));
        logs.put(1, List.of(
                "[twobp] rank 1 (stage 1) timed out at step 47 in action I2 waiting for rank 2 (stage 2) to send the"
                        + " gradient of micro-batch 2: no answer within 20.0 s (irecv tag 14, 131072 bytes); if it is"
                        + " alive but slow, raise pipeline.timeout_s",
                "[twobp] rank 1 aborts the job (exit code 1): rank 1 (stage 1) timed out at step 47 in action I2"));
        logs.put(2, List.of("[twobp] 4 ranks on this node with 1 OpenBLAS threads each oversubscribe its 2 cores.",
                "[twobp] rank 2 (stage 2) stopped at step 47 in the sends at the end of the step waiting for rank 1"
                        + " (stage 1) to receive the gradient of micro-batch 2: no answer in 0.0 s, then rank 1 ended"
                        + " the job (isend tag 14, 131072 bytes)",
                "[twobp] rank 2 aborts the job (exit code 1): rank 2 (stage 2) stopped at step 47"));
        logs.put(3, List.of(
                "[twobp] rank 3 (stage 3) timed out at step 47 in the sends at the end of the step waiting for rank 2"
                        + " (stage 2) to receive the gradient of micro-batch 3: no answer within 20.0 s (isend tag 23,"
                        + " 131072 bytes); if it is alive but slow, raise pipeline.timeout_s",
                "[twobp] rank 3 aborts the job (exit code 1): rank 3 (stage 3) timed out at step 47"));
        return logs;
    }

    static final List<String> MPIRUN = List.of("MPI_ABORT was invoked on rank 1 in communicator MPI_COMM_WORLD",
            "with errorcode 1.");

    @Test
    void theHungRankIsNamedAndNotTheRanksThatWaitedForIt() {
        FailureReport f = FailureReport.of(1, sigstoppedRank2(), MPIRUN, r -> Path.of("logs/1/rank." + r + "/stdout"));
        assertEquals(2, f.rank(), f.render());
        assertEquals("rank 2 (stage 2) stopped responding at step 47 (ranks 1 and 3 timed out waiting for it; rank 0"
                + " timed out waiting for rank 1 in action I2; rank 2 itself had waited only 0.0 s when the job ended,"
                + " so nothing held it up)", f.summary());
        String r = f.render();
        assertTrue(r.contains("what the ranks waited for:\n    rank 0 (stage 0) timed out at step 47 in action I2"), r);
        assertTrue(r.contains("lines of rank 2's log (logs/1/rank.2/stdout):"), r);
    }

    @Test
    void aRankThatTimedOutFirstWaitingForAVictimIsNotBlamed() {
        // rank 0's timer ran out first, waiting for rank 1; ranks 1 and 3, still waiting for rank 2, then stopped
        Map<Integer, List<String>> logs = new TreeMap<>();
        logs.put(0, List.of(STEP, "[twobp] rank 0 (stage 0) timed out at step 12 in action I1 waiting for rank 1 (stage 1)"
                + " to send the gradient of micro-batch 1: no answer within 20.0 s (irecv tag 5, 131072 bytes); if it"
                + " is alive but slow, raise pipeline.timeout_s"));
        logs.put(1, List.of("[twobp] rank 1 (stage 1) stopped at step 12 in action I1 waiting for rank 2 (stage 2) to send"
                + " the gradient of micro-batch 1: no answer in 19.8 s, then rank 0 ended the job (irecv tag 13, 131072 bytes)"));
        logs.put(2, List.of("[twobp] 4 ranks on this node"));
        logs.put(3, List.of("[twobp] rank 3 (stage 3) stopped at step 12 in action F3 waiting for rank 2 (stage 2) to send"
                + " the activation of micro-batch 3: no answer in 19.9 s, then rank 0 ended the job (irecv tag 19, 131072 bytes)"));
        FailureReport f = FailureReport.of(1, logs, List.of("MPI_ABORT was invoked on rank 0 in communicator"), null);
        assertEquals(2, f.rank(), f.render());
        assertEquals("rank 2 (stage 2) stopped responding at step 12 (ranks 1 and 3 gave up waiting for it; rank 0 timed"
                + " out waiting for rank 1 in action I1)", f.summary());
    }

    @Test
    void rankZerosAllReduceTimeoutNamesTheRanksThatHadNotArrived() {
        Map<Integer, List<String>> logs = new TreeMap<>();
        logs.put(0, List.of(STEP, "[twobp] rank 0 (stage 0) timed out at step 9 in the all-reduce of gradient norm and loss"
                + " waiting for ranks 1, 2 and 3 to arrive: no answer within 20.0 s (allreduce[3 doubles, SUM], 24 bytes);"
                + " if they are alive but slow, raise pipeline.timeout_s"));
        logs.put(1, List.of("[twobp] rank 1 (stage 1) stopped at step 9 in action I3 waiting for rank 2 (stage 2) to send"
                + " the gradient of micro-batch 3: no answer in 19.7 s, then rank 0 ended the job (irecv tag 15, 131072 bytes)"));
        logs.put(2, List.of());
        logs.put(3, List.of("[twobp] rank 3 (stage 3) stopped at step 9 in the sends at the end of the step waiting for"
                + " rank 2 (stage 2) to receive the gradient of micro-batch 3: no answer in 19.7 s, then rank 0 ended the"
                + " job (isend tag 23, 131072 bytes)"));
        FailureReport f = FailureReport.of(1, logs, List.of(), null);
        assertEquals(2, f.rank(), f.render());
        assertEquals("rank 2 (stage 2) stopped responding at step 9 (ranks 1 and 3 gave up waiting for it; rank 0 timed out"
                + " waiting for ranks 1, 2 and 3 in the all-reduce of gradient norm and loss)", f.summary());
    }

    /**
     * Rank 2 was SIGSTOPped inside the all-reduce after it had entered it: every rank waits in the
     * all-reduce, rank 0 knows that all had arrived, and rank 2, woken by mpirun's SIGCONT, says
     * that its own process was suspended.
     */
    static Map<Integer, List<String>> stoppedInsideTheAllReduce(boolean rank2Speaks) {
        String where = " timed out at step 21 in the all-reduce of step times and memory: no answer within 10.0 s"
                + " (allreduce[4 doubles, MAX], 32 bytes)";
        Map<Integer, List<String>> logs = new TreeMap<>();
        logs.put(0, List.of(STEP, "[twobp] rank 0 (stage 0)" + where + "; every rank had arrived, so one of them stopped"
                + " inside it"));
        logs.put(1, List.of("[twobp] rank 1 (stage 1)" + where + "; rank 0's report names the ranks that had not arrived"));
        logs.put(2, rank2Speaks ? List.of("[twobp] rank 2 (stage 2) stopped at step 21 in the all-reduce of step times and"
                + " memory: no answer in 0.0 s, then rank 3 ended the job, though this rank was itself suspended for"
                + " 12.3 s (allreduce[4 doubles, MAX], 32 bytes)") : List.of());
        logs.put(3, List.of("[twobp] rank 3 (stage 3)" + where + "; rank 0's report names the ranks that had not arrived"));
        return logs;
    }

    @Test
    void aRankStoppedInsideTheAllReduceIsNamed() {
        FailureReport f = FailureReport.of(1, stoppedInsideTheAllReduce(true), MPIRUN, null);
        assertEquals(2, f.rank(), f.render());
        assertEquals("rank 2 (stage 2) stopped responding at step 21 (ranks 0, 1 and 3 timed out in the all-reduce of"
                + " step times and memory; rank 2 itself reports that its process was suspended for 12.3 s (SIGSTOP, or"
                + " its node stalled))", f.summary());
        FailureReport silent = FailureReport.of(1, stoppedInsideTheAllReduce(false), MPIRUN, null);
        assertEquals(2, silent.rank(), silent.render());
        assertEquals("rank 2 stopped responding at step 21 (ranks 0, 1 and 3 timed out in the all-reduce of step times"
                + " and memory; nobody heard from it)", silent.summary());
    }

    @Test
    void whenNoWaitNamesAPeerTheRankNobodyHeardFromIsNamed() {
        // every rank but 2 timed out in a barrier; only rank 0 could have named the missing, and its line was lost
        Map<Integer, List<String>> logs = new TreeMap<>();
        for (int r : List.of(1, 3)) {
            logs.put(r, List.of("[twobp] rank " + r + " timed out in the barrier: no answer within 20.0 s (barrier);"
                    + " rank 0's report names the ranks that had not arrived"));
        }
        logs.put(0, List.of(STEP));
        logs.put(2, List.of());
        FailureReport f = FailureReport.of(1, logs, List.of(), null);
        assertEquals(0, f.rank(), "the first of the silent ranks: " + f.render());
        assertEquals("ranks 0 and 2 stopped responding (ranks 1 and 3 timed out in the barrier; nobody heard from them)",
                f.summary());
    }

    @Test
    void ranksWaitingForEachOtherAreADeadlockNotAHungRank() {
        Map<Integer, List<String>> logs = new TreeMap<>();
        logs.put(0, List.of("[twobp] rank 0 (stage 0) timed out at step 1 in action F0 waiting for rank 1 (stage 1) to"
                + " receive the activation of micro-batch 0: no answer within 5.0 s (isend tag 0, 131072 bytes); if it"
                + " is alive but slow, raise pipeline.timeout_s"));
        logs.put(1, List.of("[twobp] rank 1 (stage 1) timed out at step 1 in action I0 waiting for rank 0 (stage 0) to"
                + " receive the gradient of micro-batch 0: no answer within 5.0 s (isend tag 2, 131072 bytes); if it"
                + " is alive but slow, raise pipeline.timeout_s"));
        FailureReport f = FailureReport.of(1, logs, List.of(), null);
        assertNull(f.rank(), f.render());
        assertTrue(f.summary().startsWith("every rank was waiting for another (rank 0 for rank 1, rank 1 for rank 0)"),
                f.summary());
    }

    @Test
    void aRanksOwnFailureStillBeatsTheWaitsOfItsPeers() {
        Map<Integer, List<String>> logs = new TreeMap<>();
        String cause = "rank 2 (stage 2) failed at step 3 in action I0: java.lang.IllegalStateException: injected failure";
        for (int r : List.of(0, 1, 3)) {
            logs.put(r, List.of("[twobp] rank " + r + " (stage " + r + ") stopped at step 3 in action I0 waiting for rank "
                    + (r == 0 ? 1 : 2) + " (stage " + (r == 0 ? 1 : 2) + ") to send the gradient of micro-batch 0: no"
                    + " answer in 0.1 s, then rank 2 ended the job (irecv tag 4, 131072 bytes)",
                    "[twobp] rank " + r + " aborts the job (exit code 1): " + cause));
        }
        logs.put(2, List.of("[twobp] " + cause, "[twobp] rank 2 aborts the job (exit code 1): " + cause));
        FailureReport f = FailureReport.of(1, logs, List.of(), null);
        assertEquals(2, f.rank(), f.render());
        assertEquals(cause, f.summary());
    }

    @Test
    void srunLabelledOutputOfAHungRankNamesItToo() {
        List<String> out = new ArrayList<>(List.of("[twobp] job 7, attempt 1: 4 ranks on vm"));
        sigstoppedRank2().forEach((rank, lines) -> lines.forEach(l -> out.add(rank + ": " + l)));
        out.add("srun: error: vm: task 2: Killed");
        FailureReport f = FailureReport.of(1, FailureReport.splitLabelled(out), out, r -> Path.of("logs/slurm-7.out"));
        assertEquals(2, f.rank(), f.render());
        assertTrue(f.summary().startsWith("rank 2 (stage 2) stopped responding at step 47 (ranks 1 and 3 timed out"),
                f.summary());
    }

    @Test
    void aWaitLineCountsAsAFailureForStatus() {
        assertTrue(FailureReport.saysFailed(sigstoppedRank2().get(1).get(0)));
        assertTrue(!FailureReport.saysFailed(STEP));
    }
}
