package org.twobp.tests.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.tests.LocalSlurm;

/**
 * {@code twobp train} on this machine, end to end: a rank fails mid-run and the launcher names
 * it with the tail of its log; {@code twobp status} says the same; {@code twobp resume} continues
 * from the last checkpoint and ends with the weights of a run that never failed, bit for bit.
 * Three ranks, and the one that fails is the middle stage: both its neighbours are left waiting.
 */
class TrainFailResumeTest {

    private static final String TWOBP = Path.of("..", "bin", "twobp").toAbsolutePath().normalize().toString();
    private static final String CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize().toString();
    private static final List<String> SETTINGS = List.of("--nproc", "3", "--set", "train.steps=200", "--set",
            "train.threads=1", "--set", "train.log_every=50", "--set", "checkpoint.every=50");

    private static LocalSlurm.Output twobp(String... args) {
        List<String> cmd = new ArrayList<>(List.of(TWOBP));
        cmd.addAll(List.of(args));
        LocalSlurm.Output o = LocalSlurm.exec(cmd, Map.of(), 120);
        System.out.println("---- twobp " + String.join(" ", args) + " (exit " + o.exitCode() + ")\n" + o.text());
        return o;
    }

    private static List<String> train(Path run, Path weights, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--config", CONFIG, "--run-dir", run.toString(), "--dump-weights",
                weights.toString()));
        a.addAll(SETTINGS);
        a.addAll(List.of(more));
        return a;
    }

    @Test
    void aFailingRankIsNamedAndTheRunResumesToTheWeightsOfAnUnbrokenRun(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("broken");
        LocalSlurm.Output failed = twobp(train(run, dir.resolve("w-broken"), "--fail-at", "1:120:F").toArray(String[]::new));
        assertNotEquals(0, failed.exitCode());
        assertTrue(failed.text().contains("twobp: the run failed (mpirun exit code"), failed.text());
        assertTrue(failed.text().contains("failed: rank 1 (stage 1) failed at step 120 in action F"), failed.text());
        assertTrue(failed.text().contains("lines of rank 1's log (" + run.resolve("logs")), failed.text());
        assertTrue(failed.text().contains("run folder " + run + "; checkpoint step 100 of 200 committed; continue with"
                + "  twobp resume " + run), failed.text());

        LocalSlurm.Output status = twobp("status", run.toString());
        assertEquals(0, status.exitCode());
        assertTrue(status.text().contains("checkpoints  step-50, step-100"), status.text());
        assertTrue(status.text().contains("failed: rank 1 (stage 1) failed at step 120"), status.text());
        assertTrue(status.text().contains("state        failed; checkpoint step 100 of 200 committed"), status.text());

        LocalSlurm.Output dry = twobp("resume", run.toString(), "--dry-run");
        assertEquals(0, dry.exitCode(), dry.text());
        assertTrue(dry.text().contains("continues after step 100"), dry.text());
        assertTrue(dry.text().contains("--from auto --dump-weights " + dir.resolve("w-broken")), dry.text());

        LocalSlurm.Output resumed = twobp("resume", run.toString());
        assertEquals(0, resumed.exitCode(), resumed.text());
        assertTrue(resumed.text().contains("resume    from " + run.resolve("checkpoints").resolve("step-100")), resumed.text());
        assertTrue(resumed.text().contains("finished: step 200 is committed"), resumed.text());
        assertTrue(twobp("resume", run.toString()).text().contains("nothing to do"));

        LocalSlurm.Output straight = twobp(train(dir.resolve("straight"), dir.resolve("w-straight")).toArray(String[]::new));
        assertEquals(0, straight.exitCode(), straight.text());
        Map<String, byte[]> a = weights(dir.resolve("w-broken"));
        Map<String, byte[]> b = weights(dir.resolve("w-straight"));
        assertEquals(b.keySet(), a.keySet());
        for (String name : a.keySet()) {
            assertTrue(Arrays.equals(a.get(name), b.get(name)), name + " differs after fail + resume");
        }
    }

    static Map<String, byte[]> weights(Path dir) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                m.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        }
        return m;
    }
}
