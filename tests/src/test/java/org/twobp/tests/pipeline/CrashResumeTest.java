package org.twobp.tests.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.checkpoints.Resolution;
import org.twobp.checkpoints.ResumeResolver;
import org.twobp.checkpoints.Verifier;
import org.twobp.checkpoints.VerifyReport;
import org.twobp.tests.MarkedJob;
import org.twobp.worker.pipeline.WeightFiles;

/**
 * Nothing is lost when a run dies at any moment: a training run on 3 ranks (so that a kill
 * also lands on a middle stage, with a neighbour on each side) that checkpoints every step is
 * SIGKILLed 20 times at random moments of training (many land inside checkpoint writes and
 * purges); after every kill the checkpoint resume would choose is complete and verifies, and
 * the run, resumed each time, ends with exactly the weights of a run that was never
 * interrupted. Then the newest checkpoint is corrupted: resume notices, says so, and falls back
 * to the previous one.
 */
class CrashResumeTest {

    private static final String CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize().toString();
    private static final int STEPS = 160;
    private static final int KILLS = 20;
    private static final int RANKS = 3;

    private static List<String> args(Path runDir, String... extra) {
        List<String> a = new ArrayList<>(List.of("--config", CONFIG, "--steps", String.valueOf(STEPS),
                "--set", "train.threads=1", "--set", "train.log_every=1000", "--set", "checkpoint.every=1",
                "--run-dir", runDir.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    private static Process start(String marker, Path log, List<String> args) throws Exception {
        return MarkedJob.mpirun(RANKS, marker, log, "org.twobp.worker.pipeline.WorkerMain", args);
    }

    private static int finish(Process p, Path log) throws Exception {
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("run did not finish:\n" + Files.readString(log));
        }
        return p.exitValue();
    }

    /**
     * Returns once the run in {@code runDir} has committed {@code commits} steps past the newest
     * checkpoint it started from, and then a random part of the time one step (with its
     * checkpoint) takes. Waiting for progress instead of a fixed time keeps the kills inside
     * training and checkpoint writes however long start-up takes on a loaded machine, and caps
     * what each attempt adds, so the run never finishes before the last kill.
     */
    private static void waitForCommits(Process p, Path runDir, int commits, Random random) throws Exception {
        long target = Math.max(newestCommitted(runDir), 0) + commits;
        long deadline = System.nanoTime() + 60_000_000_000L;
        long seen = newestCommitted(runDir);
        long seenAt = 0;
        long stepNanos = 100_000_000L;
        while (p.isAlive() && System.nanoTime() < deadline) {
            long n = newestCommitted(runDir);
            if (n > seen) {
                long now = System.nanoTime();
                if (seenAt > 0) {
                    stepNanos = (now - seenAt) / (n - seen);
                }
                seen = n;
                seenAt = now;
            }
            if (n >= target) {
                break;
            }
            Thread.sleep(5);
        }
        Thread.sleep(Math.max(1, (long) (random.nextDouble() * stepNanos / 1_000_000)));
    }

    /** The newest step whose checkpoint is committed (its manifest written), or -1. */
    private static long newestCommitted(Path runDir) {
        Path dir = runDir.resolve("checkpoints");
        if (!Files.isDirectory(dir)) {
            return -1;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(e -> e.getFileName().toString()).filter(n -> n.matches("step-\\d+"))
                    .filter(n -> Files.exists(dir.resolve(n).resolve("manifest.txt")))
                    .mapToLong(n -> Long.parseLong(n.substring(5))).max().orElse(-1);
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return -1;      // racing with a purge of old checkpoints: look again
        }
    }

    @Test
    void randomKillsNeverLeaveAPartialCheckpointAndResumeIsExact(@TempDir Path dir) throws Exception {
        Path straight = dir.resolve("straight");
        Process s = start(UUID.randomUUID().toString(), dir.resolve("straight.log"), args(straight, "--dump-weights",
                straight.resolve("weights").toString()));
        assertEquals(0, finish(s, dir.resolve("straight.log")), Files.readString(dir.resolve("straight.log")));

        Path crashed = dir.resolve("crashed");
        Random random = new Random(20261123);
        int killedDuringRun = 0;
        long lastStep = -1;
        for (int k = 0; k < KILLS; k++) {
            String marker = UUID.randomUUID().toString();
            Path log = dir.resolve("kill-" + k + ".log");
            Process p = start(marker, log, args(crashed));
            try {
                // wait until the run has committed 1-3 more steps, then a random moment within a step
                waitForCommits(p, crashed, 1 + random.nextInt(3), random);
                List<ProcessHandle> ranks = MarkedJob.rankJvms(marker);
                if (!ranks.isEmpty()) {
                    ranks.get(random.nextInt(ranks.size())).destroyForcibly();
                    killedDuringRun++;
                }
                finish(p, log);
            } finally {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            Resolution r = ResumeResolver.resolve(crashed, "auto");
            if (!r.fresh()) {
                VerifyReport v = Verifier.verify(r.dir());
                assertTrue(v.ok(), "after kill " + k + " resume would choose " + r.dir() + ", which does not verify:\n"
                        + v.format());
                assertTrue(r.step() >= lastStep, "the newest complete checkpoint went backwards");
                lastStep = r.step();
            }
        }
        System.out.println("crash test: " + killedDuringRun + " kills mid-run; newest complete checkpoint at step "
                + lastStep + " of " + STEPS);
        assertTrue(killedDuringRun >= KILLS, "every kill hit a running job");
        assertTrue(lastStep > 0 && lastStep < STEPS, "the kills interrupted the run part-way (step " + lastStep + ")");

        // corrupt the newest complete checkpoint: resume must notice and use the one before
        Path newest = ResumeResolver.resolve(crashed, "auto").dir();
        Path stageFile;
        try (Stream<Path> files = Files.list(newest)) {
            stageFile = files.filter(f -> f.getFileName().toString().endsWith(".h5")).sorted().findFirst().orElseThrow();
        }
        try (RandomAccessFile f = new RandomAccessFile(stageFile.toFile(), "rw")) {
            long pos = f.length() / 2;
            f.seek(pos);
            int b = f.read();
            f.seek(pos);
            f.write(b ^ 0xFF);
        }
        assertFalse(Verifier.verify(newest).ok(), "verify detects the flipped byte");

        Path finalLog = dir.resolve("final.log");
        Process last = start(UUID.randomUUID().toString(), finalLog, args(crashed, "--dump-weights",
                crashed.resolve("weights").toString()));
        int code = finish(last, finalLog);
        String out = Files.readString(finalLog);
        assertEquals(0, code, out);
        assertTrue(out.contains("resume    skipped") && out.contains(newest.getFileName().toString()), out);
        assertTrue(out.contains("resume    from") && out.contains("set aside"), out);

        Map<String, float[]> expected = WeightFiles.read(straight.resolve("weights"));
        Map<String, float[]> actual = WeightFiles.read(crashed.resolve("weights"));
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) {
            assertArrayEquals(expected.get(name), actual.get(name), name + " differs from the uninterrupted run");
        }
    }
}
