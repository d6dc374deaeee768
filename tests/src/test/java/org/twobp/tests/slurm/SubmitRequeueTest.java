package org.twobp.tests.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.tests.LocalSlurm;

/**
 * {@code twobp submit} end to end on a real local Slurm: a 2-rank job whose 1-minute limit makes
 * the pre-timeout signal ({@code --signal=B:USR1@50}) arrive mid-run. The job checkpoints,
 * requeues itself, resumes from the checkpoint (more than once if the run is still unfinished at
 * the next signal) and finishes; its final weights equal, bit for bit, those of the same run
 * trained without interruption by {@code twobp train}.
 *
 * <p>Timing (measured here): slurmctld checks signals and limits on a fixed 30 s timer and sends
 * the signal at the first check at most 30 s before it is due, so with a 1-minute limit and a
 * 50 s lead the signal comes 0-30 s into an attempt, and the kill would come 60-90 s in. The run
 * is sized on this machine to ~45 s of training (room for the machine to get faster than when
 * it was measured), so the first attempt is always interrupted; later attempts may be too, each
 * continuing from the last checkpoint. The local cluster's cred_expire=5 and 2 s scheduler
 * passes restart a requeued job ~6 s after the requeue. The uninterrupted reference run trains
 * meanwhile at the lowest CPU priority, so the job's timing is mostly undisturbed.
 */
class SubmitRequeueTest {

    private static final Path TWOBP = Path.of("..", "bin", "twobp").toAbsolutePath().normalize();
    private static final Path CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize();
    /** Seconds of training the run is sized to: longer than the 30 s in which the first signal comes. */
    private static final double TRAINING_SECONDS = 45;
    private static final Pattern LOG_LINE = Pattern.compile("^\\[twobp] (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d) (.*)$");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    @BeforeAll
    static void cluster() {
        LocalSlurm.start();
    }

    @AfterAll
    static void stop() {
        LocalSlurm.stopIfStartedHere();
    }

    @Test
    void preTimeoutSignalCheckpointsRequeuesResumesAndEndsWithTheWeightsOfAnUninterruptedRun(@TempDir Path dir)
            throws Exception {
        Path slurmRun = dir.resolve("slurm-run");
        Path slurmWeights = dir.resolve("slurm-weights");
        Path refRun = dir.resolve("reference-run");
        Path refWeights = dir.resolve("reference-weights");
        long start = System.nanoTime();
        int steps = stepsLasting(dir.resolve("calibration"), TRAINING_SECONDS);
        List<String> settings = List.of("--set", "train.steps=" + steps, "--set", "train.threads=1",
                "--set", "train.log_every=" + steps / 10, "--set", "checkpoint.every=0");

        List<String> submit = new ArrayList<>(List.of(TWOBP.toString(), "submit", "--config", CONFIG.toString(),
                "--nodes", "1", "--gpus-per-node", "0", "--ntasks-per-node", "2", "--time", "00:01:00",
                "--signal-margin", "50", "--max-restarts", "8", "--run-dir", slurmRun.toString(),
                "--dump-weights", slurmWeights.toString(), "--parsable"));
        submit.addAll(settings);
        LocalSlurm.Output sub = LocalSlurm.exec(submit, Map.of(), 60);
        assertEquals(0, sub.exitCode(), "twobp submit failed:\n" + sub.text());
        String job = sub.text().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(job.matches("\\d+"), "twobp submit --parsable printed no job id:\n" + sub.text());

        List<String> train = new ArrayList<>(List.of("nice", "-n", "19", TWOBP.toString(), "train", "--config",
                CONFIG.toString(), "--nproc", "2", "--run-dir", refRun.toString(), "--dump-weights", refWeights.toString()));
        train.addAll(settings);
        Path refLog = dir.resolve("reference.log");
        Process reference = new ProcessBuilder(train).redirectErrorStream(true).redirectOutput(refLog.toFile()).start();
        String finalState = null;
        List<String> transitions = new ArrayList<>();
        try {
            String last = "";
            long deadline = System.nanoTime() + 300_000_000_000L;
            while (System.nanoTime() < deadline) {
                String show = LocalSlurm.exec(List.of("scontrol", "show", "job", "-o", job), Map.of(), 30).text();
                String state = field(show, "JobState") + " restarts=" + field(show, "Restarts");
                if (!state.equals(last)) {
                    transitions.add(String.format("%5.1f s  %s", (System.nanoTime() - start) / 1e9, state));
                    last = state;
                }
                String s = field(show, "JobState");
                if (List.of("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY").contains(s)) {
                    finalState = s;
                    break;
                }
                Thread.sleep(500);
            }
            String jobLog = readIfThere(slurmRun.resolve("logs").resolve("slurm-" + job + ".out"));
            System.out.println("---- job " + job + " state changes:\n" + String.join("\n", transitions));
            System.out.println("---- job output:\n" + jobLog);
            assertEquals("COMPLETED", finalState, "job " + job + " ended " + finalState + "; output:\n" + jobLog);

            assertTrue(reference.waitFor(240, TimeUnit.SECONDS), "the reference run did not end in time:\n"
                    + readIfThere(refLog));
            assertEquals(0, reference.exitValue(), "the uninterrupted reference run failed:\n" + readIfThere(refLog));

            Timeline t = Timeline.of(jobLog);
            System.out.println("---- measured:\n" + t.describe() + String.format("%n  test duration %.0f s",
                    (System.nanoTime() - start) / 1e9));
            assertTrue(t.signals.size() >= 1, "no pre-timeout signal arrived mid-run:\n" + jobLog);
            assertTrue(t.requeues.size() >= 1 && t.attempts.size() == t.requeues.size() + 1,
                    "the job did not requeue itself once per signal:\n" + jobLog);
            Matcher resumed = Pattern.compile("resume\\s+from \\S+/checkpoints/step-(\\d+) \\(step (\\d+)\\)").matcher(jobLog);
            assertTrue(resumed.find(), "the requeued job did not resume from a checkpoint:\n" + jobLog);
            Matcher stopped = Pattern.compile("\\[twobp] stopping after step (\\d+)").matcher(jobLog);
            assertTrue(stopped.find() && stopped.group(1).equals(resumed.group(1)),
                    "the resume step differs from the stop step:\n" + jobLog);
            assertTrue(jobLog.contains("finished: step " + steps + " is committed"), jobLog);

            Map<String, byte[]> a = weights(slurmWeights);
            Map<String, byte[]> b = weights(refWeights);
            assertEquals(b.keySet(), a.keySet(), "both runs dump the same tensors");
            assertTrue(a.size() > 10, "weights were dumped: " + a.keySet());
            for (String name : a.keySet()) {
                assertTrue(java.util.Arrays.equals(a.get(name), b.get(name)), name + " differs between the interrupted"
                        + " and the uninterrupted run");
            }
            System.out.println("  weights: " + a.size() + " tensors, "
                    + a.values().stream().mapToLong(x -> x.length).sum() + " bytes, bit for bit equal");
        } finally {
            if (finalState == null) {
                LocalSlurm.exec(List.of("scancel", job), Map.of(), 30);
            }
            if (reference.isAlive()) {
                reference.descendants().forEach(ProcessHandle::destroyForcibly);
                reference.destroyForcibly();
            }
            assertNoRanksLeft(dir);
        }
    }

    /** Steps of the test's run that take about {@code seconds} on this machine now, from a short run of the same. */
    private static int stepsLasting(Path dir, double seconds) {
        int probe = 300;
        LocalSlurm.Output o = LocalSlurm.exec(List.of(TWOBP.toString(), "train", "--config", CONFIG.toString(), "--nproc",
                "2", "--steps", String.valueOf(probe), "--set", "train.threads=1", "--set", "train.log_every=" + probe,
                "--run-dir", dir.toString()), Map.of(), 120);
        Matcher m = Pattern.compile("done\\s+" + probe + " steps in ([0-9.]+) s").matcher(o.text());
        assertTrue(o.exitCode() == 0 && m.find(), "the calibration run failed:\n" + o.text());
        double perStep = Double.parseDouble(m.group(1)) / probe;
        int steps = (int) Math.min(8000, Math.max(1500, Math.ceil(seconds / perStep / 100) * 100));
        System.out.printf("calibration: %.1f ms per step -> %d steps%n", perStep * 1000, steps);
        return steps;
    }

    /** What the job script's own lines say happened, with their times. */
    record Timeline(List<LocalDateTime> attempts, List<LocalDateTime> signals, List<LocalDateTime> requeues,
                    LocalDateTime finished) {

        static Timeline of(String jobLog) {
            List<LocalDateTime> attempts = new ArrayList<>();
            List<LocalDateTime> signals = new ArrayList<>();
            List<LocalDateTime> requeues = new ArrayList<>();
            LocalDateTime finished = null;
            for (String l : jobLog.lines().toList()) {
                Matcher m = LOG_LINE.matcher(l);
                if (!m.matches()) {
                    continue;
                }
                LocalDateTime at = LocalDateTime.parse(m.group(1), TIME);
                String what = m.group(2);
                if (what.contains(", attempt ")) {
                    attempts.add(at);
                } else if (what.startsWith("pre-timeout signal")) {
                    signals.add(at);
                } else if (what.startsWith("requeueing")) {
                    requeues.add(at);
                } else if (what.startsWith("finished")) {
                    finished = at;
                }
            }
            return new Timeline(attempts, signals, requeues, finished);
        }

        String describe() {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < attempts.size(); i++) {
                s.append("  attempt ").append(i + 1).append(": started ").append(attempts.get(i).toLocalTime());
                if (i < signals.size()) {
                    s.append(", signal ").append(Duration.between(attempts.get(i), signals.get(i)).toSeconds())
                            .append(" s after the start");
                }
                if (i < requeues.size() && i + 1 < attempts.size()) {
                    s.append(", requeued; next attempt ").append(Duration.between(requeues.get(i), attempts.get(i + 1))
                            .toSeconds()).append(" s later");
                }
                s.append('\n');
            }
            if (finished != null && !attempts.isEmpty()) {
                s.append("  finished ").append(Duration.between(attempts.get(0), finished).toSeconds())
                        .append(" s after the first start");
            }
            return s.toString();
        }
    }

    private static String field(String scontrol, String name) {
        Matcher m = Pattern.compile("\\b" + name + "=(\\S+)").matcher(scontrol);
        return m.find() ? m.group(1) : "?";
    }

    private static String readIfThere(Path f) throws IOException {
        return Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "(no " + f + ")";
    }

    private static Map<String, byte[]> weights(Path dir) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                m.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        }
        return m;
    }

    /** No rank of either run may outlive the test. */
    private static void assertNoRanksLeft(Path dir) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        List<Long> left;
        do {
            left = ProcessHandle.allProcesses().filter(p -> p.info().commandLine()
                    .map(c -> c.contains("WorkerMain") && c.contains(dir.toString())).orElse(false))
                    .map(ProcessHandle::pid).toList();
            if (left.isEmpty()) {
                return;
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        List<Long> stuck = left;
        ProcessHandle.allProcesses().filter(p -> stuck.contains(p.pid())).forEach(ProcessHandle::destroyForcibly);
        throw new AssertionError("ranks left behind: " + stuck);
    }
}
