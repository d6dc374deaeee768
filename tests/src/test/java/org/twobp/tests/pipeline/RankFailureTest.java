package org.twobp.tests.pipeline;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.tests.MarkedJob;

/**
 * One rank failing mid-step ends the whole job promptly, names the rank, and leaves no process
 * behind: once by an exception inside a p1, once by SIGKILL from outside.
 */
class RankFailureTest {

    private static final Path CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize();

    /** mpirun with 4 ranks of WorkerMain; every rank's JVM carries {@code marker} so we can find it. */
    private static Process start(Path log, String marker, String... workerArgs) throws IOException {
        List<String> args = new ArrayList<>(List.of("--config", CONFIG.toString()));
        args.addAll(List.of(workerArgs));
        return MarkedJob.mpirun(4, marker, log, "org.twobp.worker.pipeline.WorkerMain", args);
    }

    private static List<Long> ranksAlive(String marker) {
        return MarkedJob.alive(marker).stream().map(ProcessHandle::pid).toList();
    }

    private static List<Long> rankJvms(String marker) {
        return MarkedJob.rankJvms(marker).stream().map(ProcessHandle::pid).toList();
    }

    private static void awaitLine(Path log, String needle, double seconds) throws Exception {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log, StandardCharsets.UTF_8).contains(needle)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + needle + "' in the output after " + seconds + " s:\n" + Files.readString(log));
    }

    /** Waits for the job to end (at most 30 s after the failure) and checks that nothing is left. */
    private static String ended(Process p, Path log, String marker, long failedAt) throws Exception {
        boolean finished = p.waitFor(30, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - failedAt) / 1e9;
        String out = Files.readString(log, StandardCharsets.UTF_8);
        System.out.print(out);
        if (!finished) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        assertTrue(finished, "the job did not end within 30 s of the failure:\n" + out);
        assertNotEquals(0, p.exitValue(), "a failed job must exit non-zero");
        System.out.printf("job ended %.1f s after the failure, exit code %d%n", seconds, p.exitValue());
        // orphans would still carry the marker; give the kernel a moment to reap
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!ranksAlive(marker).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(ranksAlive(marker).isEmpty(), "processes left behind: " + ranksAlive(marker));
        return out;
    }

    @Test
    void exceptionInOneRankEndsTheJobAndNamesTheRank(@TempDir Path dir) throws Exception {
        String marker = UUID.randomUUID().toString();
        Path log = dir.resolve("job.log");
        long start = System.nanoTime();
        Process p = start(log, marker, "--steps", "50", "--set", "pipeline.schedule=1f1b-1",
                "--set", "train.log_every=1", "--fail-at", "2:3:I");
        String out = ended(p, log, marker, start);
        assertTrue(out.contains("rank 2 (stage 2) failed at step 3 in action I"), out);
        assertTrue(out.contains("injected failure"), out);
        assertTrue(out.contains("step  2/50"), out);
        assertFalse(out.contains("step  3/50") || out.contains("step  4/50"), "steps went on after the failure:\n" + out);
    }

    @Test
    void sigkillOfOneRankEndsTheJob(@TempDir Path dir) throws Exception {
        String marker = UUID.randomUUID().toString();
        Path log = dir.resolve("job.log");
        // a long run: it can only end because of the kill
        Process p = start(log, marker, "--steps", "100000", "--set", "train.log_every=20");
        long victim;
        long killedAt;
        try {
            awaitLine(log, "20/100000 |", 120);
            List<Long> ranks = rankJvms(marker);
            assertTrue(ranks.size() == 4, "expected 4 rank processes, found " + ranks);
            victim = ranks.get(2);
            new ProcessBuilder("kill", "-9", String.valueOf(victim)).start().waitFor();
            killedAt = System.nanoTime();
        } catch (Throwable t) {
            // never leave a 100000-step job running behind a failed test
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw t;
        }
        String out = ended(p, log, marker, killedAt);
        // the job's header maps ranks to pids; mpirun names the rank that died
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(" (\\d+)=" + victim + "\\b").matcher(out);
        assertTrue(m.find(), "no pid " + victim + " in the rank table:\n" + out);
        String rank = m.group(1);
        assertTrue(out.matches("(?s).*process rank " + rank + " with PID \\d+ on node \\S+ exited on signal 9.*"), out);
    }
}
