package org.twobp.tests.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.tests.LocalSlurm;

/**
 * {@code scancel} of a running job after a checkpoint is committed: {@code twobp status} first
 * says the job is running, then the job's output and {@code twobp status} say it was cancelled
 * with the step the ranks committed on the way out, not that the ranks failed (mpirun exits 1
 * after any SIGTERM, although the ranks checkpoint and exit 0). About 20 s.
 */
class SubmitCancelTest {

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

    private static long newestStep(Path run) throws Exception {
        Path dir = run.resolve("checkpoints");
        if (!Files.isDirectory(dir)) {
            return -1;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("step-\\d+") && Files.exists(p.resolve("manifest.txt")))
                    .mapToLong(p -> Long.parseLong(p.getFileName().toString().substring(5))).max().orElse(-1);
        }
    }

    @Test
    void aCancelAfterACheckpointIsReportedAsACancelWithTheCommittedStep(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        LocalSlurm.Output sub = LocalSlurm.exec(List.of(TWOBP.toString(), "submit", "--config", CONFIG.toString(),
                "--nodes", "1", "--gpus-per-node", "0", "--ntasks-per-node", "2", "--time", "00:05:00",
                "--set", "train.steps=100000", "--set", "train.log_every=1000", "--set", "train.threads=1",
                "--set", "checkpoint.every=20", "--run-dir", run.toString(), "--parsable"), Map.of(), 60);
        assertEquals(0, sub.exitCode(), sub.text());
        String job = sub.text().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(job.matches("\\d+"), sub.text());
        String last = "?";
        try {
            long deadline = System.nanoTime() + 90_000_000_000L;
            while (newestStep(run) < 20 && System.nanoTime() < deadline) {
                Thread.sleep(300);
            }
            assertTrue(newestStep(run) >= 20, "no checkpoint within 90 s; job " + job + " is " + LocalSlurm.jobState(job));
            String running = LocalSlurm.exec(List.of(TWOBP.toString(), "status", run.toString()), Map.of(), 60).text();
            assertTrue(running.contains("state        running: Slurm job " + job + " is RUNNING"), running);

            LocalSlurm.exec(List.of("scancel", job), Map.of(), 30);
            deadline = System.nanoTime() + 60_000_000_000L;
            do {
                Thread.sleep(300);
                last = LocalSlurm.jobState(job);
            } while (!last.equals("CANCELLED") && System.nanoTime() < deadline);
        } finally {
            if (!last.equals("CANCELLED")) {
                LocalSlurm.exec(List.of("scancel", job), Map.of(), 30);
            }
        }
        String out = Files.readString(run.resolve("logs").resolve("slurm-" + job + ".out"));
        System.out.print(out);
        assertEquals("CANCELLED", last, out);
        long step = newestStep(run);
        Matcher said = Pattern.compile("\\[twobp] \\S+ \\S+ cancelled; checkpoint step (\\d+) committed; continue with"
                + "  twobp resume " + Pattern.quote(run.toString())).matcher(out);
        assertTrue(said.find(), out);
        assertEquals(step, Long.parseLong(said.group(1)), "the newest committed step is the one reported");
        assertFalse(out.contains("the ranks failed"), out);

        String status = LocalSlurm.exec(List.of(TWOBP.toString(), "status", run.toString()), Map.of(), 60).text();
        System.out.print(status);
        assertTrue(status.contains("state        cancelled (Slurm job " + job + "); checkpoint step " + step
                + " of 100000 committed; continue with  twobp resume " + run), status);
        assertFalse(status.contains("failed"), status);
    }
}
