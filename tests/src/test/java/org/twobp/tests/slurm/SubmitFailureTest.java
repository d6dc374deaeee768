package org.twobp.tests.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.tests.LocalSlurm;

/**
 * A job whose ranks start with {@code srun --mpi=pmix} (the script's other launcher) and one of
 * which fails: the whole job ends, FAILED, and the job's output names the failing rank with the
 * tail of its log.
 */
class SubmitFailureTest {

    private static final Path TWOBP = Path.of("..", "bin", "twobp").toAbsolutePath().normalize();
    private static final Path CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize();

    @BeforeAll
    static void cluster() {
        LocalSlurm.start();
    }

    @AfterAll
    static void stop() {
        LocalSlurm.stopIfStartedHere();
    }

    @Test
    void aFailingRankUnderSrunEndsTheJobAndIsNamedInItsOutput(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        LocalSlurm.Output sub = LocalSlurm.exec(List.of(TWOBP.toString(), "submit", "--config", CONFIG.toString(),
                "--nodes", "1", "--gpus-per-node", "0", "--ntasks-per-node", "2", "--time", "00:02:00", "--launch", "srun",
                "--set", "train.steps=40", "--set", "train.log_every=10", "--set", "train.threads=1",
                "--fail-at", "1:20:F", "--run-dir", run.toString()), Map.of(), 60);
        System.out.print(sub.text());
        assertEquals(0, sub.exitCode(), sub.text());
        assertTrue(Files.readString(run.resolve("job.sbatch")).contains("srun --mpi=pmix --kill-on-bad-exit=1 --label"));
        String job = sub.text().lines().filter(l -> l.startsWith("submitted job ")).findFirst().orElseThrow()
                .replaceAll("submitted job (\\d+):.*", "$1");
        String state = LocalSlurm.waitForEnd(job, 90).state();
        String out = Files.readString(run.resolve("logs").resolve("slurm-" + job + ".out"));
        System.out.print(out);
        assertEquals("FAILED", state, out);
        assertTrue(out.contains("0: step 10/40"), "rank 0's progress, labelled:\n" + out);
        assertTrue(out.contains("the ranks failed (exit code"), out);
        assertTrue(out.contains("failed: rank 1 (stage 1) failed at step 20 in action F"), out);
        assertTrue(out.contains("lines of rank 1's log"), out);
        // the job script's own status call is not taken for a running job; no checkpoint means step 0
        assertTrue(out.contains("state        failed; no checkpoint was committed: 'twobp resume " + run
                + "' starts the run again from step 0"), out);
    }
}
