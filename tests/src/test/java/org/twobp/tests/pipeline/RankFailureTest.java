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
import org.twobp.tests.MpiRun;

/**
 * One rank failing mid-step ends the whole job promptly, names the rank, and leaves no process
 * behind: once by an exception inside a p1, once by SIGKILL from outside, once by SIGSTOP (a hung
 * rank, which only the timeout ends and which the launcher's report names).
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

    /**
     * {@code twobp train} with 4 ranks and {@code pipeline.timeout_s=10}; rank 2 is SIGSTOPped
     * mid-run. The ranks around it time out (or stop when the first does), each naming whom it
     * waited for; the launcher's report names rank 2, not one of the ranks that waited; the job
     * ends a little after the timeout and leaves no process behind.
     */
    @Test
    void aSigstoppedRankIsNamedByTheLaunchersReport(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("hung-" + UUID.randomUUID());
        Path log = dir.resolve("launcher.log");
        String jvm = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = MpiRun.rankClasspath();
        List<String> cmd = List.of(jvm, "-Dtwobp.classpath=" + cp, "-cp", cp, "org.twobp.launcher.Main", "train",
                "--config", CONFIG.toString(), "--run-dir", run.toString(), "--nproc", "4", "--set", "train.steps=100000",
                "--set", "train.log_every=10", "--set", "pipeline.timeout_s=" + HANG_TIMEOUT_S);
        Process launcher = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long stoppedAt;
        try {
            awaitLine(log, "step     20/100000 |", 120);
            String header = Files.readString(log, StandardCharsets.UTF_8);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("pid by rank:.* 2=(\\d+)").matcher(header);
            assertTrue(m.find(), "no rank table in the output:\n" + header);
            assertTrue(ofRun(run).stream().anyMatch(p -> p.pid() == Long.parseLong(m.group(1))),
                    "rank 2's pid " + m.group(1) + " is not a process of this run");
            new ProcessBuilder("kill", "-STOP", m.group(1)).start().waitFor();
            stoppedAt = System.nanoTime();
            boolean finished = launcher.waitFor(HANG_TIMEOUT_S + 30, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - stoppedAt) / 1e9;
            String out = Files.readString(log, StandardCharsets.UTF_8);
            System.out.print(out);
            assertTrue(finished, "the job did not end within " + (HANG_TIMEOUT_S + 30) + " s of the SIGSTOP:\n" + out);
            System.out.printf("job ended %.1f s after the SIGSTOP, exit code %d%n", seconds, launcher.exitValue());
            assertNotEquals(0, launcher.exitValue(), "a job with a hung rank must exit non-zero");
            assertTrue(seconds >= HANG_TIMEOUT_S - 1, "ended " + seconds + " s after the SIGSTOP, before the timeout");
            assertTrue(out.matches("(?s).*\nfailed: rank 2( \\(stage 2\\))? stopped responding at step \\d+ \\(.*"), out);
            // every other rank said what it waited for: a peer, or a collective
            String waits = out.substring(out.indexOf("\nwhat the ranks waited for:\n"));
            for (int r : List.of(0, 1, 3)) {
                assertTrue(waits.matches("(?s).*\n    rank " + r + " (\\(stage " + r + "\\) )?(timed out|stopped) .*"),
                        "rank " + r + " does not say what it waited for:\n" + out);
            }
            for (int victim : List.of(0, 1, 3)) {
                assertFalse(out.contains("\nfailed: rank " + victim), "rank " + victim + " is blamed:\n" + out);
            }
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!ofRun(run).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(ofRun(run).isEmpty(), "processes left behind: " + ofRun(run).stream().map(ProcessHandle::pid).toList());
        } finally {
            // never leave a stopped 100000-step job behind a failed test (nothing is left when it passed)
            for (ProcessHandle p : ofRun(run)) {
                new ProcessBuilder("kill", "-CONT", String.valueOf(p.pid())).start().waitFor();
                p.destroyForcibly();
            }
            launcher.destroyForcibly();
        }
    }

    private static final int HANG_TIMEOUT_S = 10;

    /** Every process whose command line names the run folder: the launcher, mpirun and the rank JVMs. */
    private static List<ProcessHandle> ofRun(Path run) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains(run.toString())).orElse(false)).toList();
    }
}
