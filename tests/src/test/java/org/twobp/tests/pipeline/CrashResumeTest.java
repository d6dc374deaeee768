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
 * Nothing is lost when a run dies at any moment: a training run that checkpoints every step is
 * SIGKILLed 20 times at random moments (many land inside checkpoint writes and purges); after
 * every kill the checkpoint resume would choose is complete and verifies, and the run, resumed
 * each time, ends with exactly the weights of a run that was never interrupted. Then the newest
 * checkpoint is corrupted: resume notices, says so, and falls back to the previous one.
 */
class CrashResumeTest {

    private static final String CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize().toString();
    private static final int STEPS = 240;
    private static final int KILLS = 20;

    private static List<String> args(Path runDir, String... extra) {
        List<String> a = new ArrayList<>(List.of("--config", CONFIG, "--steps", String.valueOf(STEPS),
                "--set", "train.threads=1", "--set", "train.log_every=1000", "--set", "checkpoint.every=1",
                "--run-dir", runDir.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    private static Process start(String marker, Path log, List<String> args) throws Exception {
        return MarkedJob.mpirun(2, marker, log, "org.twobp.worker.pipeline.WorkerMain", args);
    }

    private static int finish(Process p, Path log) throws Exception {
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("run did not finish:\n" + Files.readString(log));
        }
        return p.exitValue();
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
                // wait until the ranks are up and training, then a random moment more
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (MarkedJob.rankJvms(marker).size() < 2 && p.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                Thread.sleep(1200 + random.nextInt(1500));
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
