package org.twobp.tests.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.twobp.tests.MpiRun;

/** The transport contract under real mpirun, with 2 and 4 ranks (oversubscribed on small machines). */
class MpiTransportContractTest {

    private static final Map<Integer, MpiRun.Result> RUNS = new HashMap<>();

    private static synchronized MpiRun.Result checks(int ranks) {
        return RUNS.computeIfAbsent(ranks, n -> MpiRun.run(n, 240, ContractMain.class.getName(), "checks"));
    }

    private static Stream<DynamicTest> contractOn(int ranks) {
        return TransportContract.CHECKS.stream().map(c -> DynamicTest.dynamicTest(
                c.name() + " on " + ranks + " MPI ranks", () -> {
                    MpiRun.Result r = checks(ranks);
                    assertTrue(r.hasLine(lineOf(r, c.name())), "no 'contract: " + c.name() + " OK' in the output of "
                            + "mpirun -np " + ranks + " (exit " + r.exitCode() + "):\n" + r.output());
                    assertEquals(0, r.exitCode(), "mpirun exit code");
                }));
    }

    /** The OK line carries a timing; find it by prefix. */
    private static String lineOf(MpiRun.Result r, String name) {
        return r.output().lines().map(String::strip)
                .filter(l -> l.startsWith("contract: " + name + " OK")).findFirst().orElse("contract: " + name + " OK");
    }

    @TestFactory
    Stream<DynamicTest> contractOnTwoRanks() {
        return contractOn(2);
    }

    @TestFactory
    Stream<DynamicTest> contractOnFourRanks() {
        return contractOn(4);
    }

    @Test
    void abortFromOneRankEndsEveryRank() {
        MpiRun.Result r = MpiRun.run(4, 60, ContractMain.class.getName(), "abort");
        assertFalse(r.timedOut(), "the job hung after an abort");
        assertNotEquals(0, r.exitCode(), "a job that aborted must exit non-zero");
        assertTrue(r.output().contains("rank 3 aborts the job (exit code " + ContractMain.ABORT_CODE
                + "): deliberate abort from the contract test"), "the abort message is printed:\n" + r.output());
        assertFalse(r.output().contains("received a message that was never sent"));
        // the other three ranks were blocked in receives with a 120 s timeout: only the abort ended them
        assertTrue(r.seconds() < 30, "job took " + r.seconds() + " s to end after the abort");
    }

    @Test
    void rankThatDiesEndsTheJob() {
        MpiRun.Result r = MpiRun.run(4, 60, ContractMain.class.getName(), "die");
        assertFalse(r.timedOut(), "the job hung after a rank died");
        assertNotEquals(0, r.exitCode(), "a job with a dead rank must exit non-zero");
        assertFalse(r.output().contains("received a message that was never sent"));
        assertTrue(r.seconds() < 30, "job took " + r.seconds() + " s to end after a rank died");
    }
}
