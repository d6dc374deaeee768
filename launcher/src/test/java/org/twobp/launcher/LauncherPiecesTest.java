package org.twobp.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.worker.pipeline.RunConfig;

/** The launcher's smaller parts: time limits, failure reports, progress, dry runs, the saved config. */
class LauncherPiecesTest {

    @Test
    void wallTimesInEverySlurmForm() {
        assertEquals(3600, WallTime.parse("submit", "01:00:00").seconds());
        assertEquals(90, WallTime.parse("submit", "1:30").seconds());
        assertEquals(1800, WallTime.parse("submit", "30").seconds());
        assertEquals(2 * 86400 + 3 * 3600, WallTime.parse("submit", "2-03").seconds());
        assertEquals(86400 + 5 * 60, WallTime.parse("submit", "1-00:05").seconds());
        assertEquals("1-02:03:04", new WallTime(86400 + 2 * 3600 + 3 * 60 + 4).slurm());
        assertEquals("00:01:00", new WallTime(60).slurm());
        assertEquals(30, JobShape.defaultMargin(new WallTime(60)), "short limits: half of it");
        assertEquals(120, JobShape.defaultMargin(new WallTime(3600)));
    }

    @Test
    void theFailingRanksOwnMessageWins() {
        Map<Integer, List<String>> logs = Map.of(
                0, List.of("step 1/9 | loss 1", "[twobp] rank 0 (stage 0) failed at step 3: peer rank 1 is gone"),
                1, List.of("step 1/9", "[twobp] rank 1 (stage 1) failed at step 3 in action I2: injected failure",
                        "java.lang.IllegalStateException: injected failure", "[twobp] rank 1 aborts the job"));
        FailureReport f = FailureReport.of(1, logs, List.of(), r -> Path.of("logs/1/rank." + r + "/stdout"));
        assertEquals(1, f.rank());
        assertTrue(f.summary().startsWith("rank 1 (stage 1) failed at step 3 in action I2"), f.summary());
        assertTrue(f.render().contains("last 4 lines of rank 1's log (logs/1/rank.1/stdout):\n    step 1/9\n"), f.render());
    }

    @Test
    void aKilledRankIsNamedFromMpirunsOwnLines() {
        Map<Integer, List<String>> logs = Map.of(0, List.of("step 5/9"), 1, List.of("step 5/9"));
        List<String> mpirun = List.of("--------", "mpirun noticed that process rank 1 with PID 4242 on node vm exited on"
                + " signal 9 (Killed).");
        FailureReport f = FailureReport.of(137, logs, mpirun, null);
        assertEquals(1, f.rank());
        assertTrue(f.summary().contains("killed by signal 9 (Killed) on vm: out of memory, or killed from outside"),
                f.summary());
        FailureReport none = FailureReport.of(3, logs, List.of(), null);
        assertNull(none.rank());
        assertTrue(none.render().contains("code 3; no rank reported an error") && none.render().contains("rank 1: step 5/9"),
                none.render());
    }

    @Test
    void srunLabelledOutputIsSplitByRank() {
        Map<Integer, List<String>> logs = FailureReport.splitLabelled(List.of("[twobp] job 7, attempt 1", "0: step 1/2",
                "1: [twobp] rank 1 (stage 1) failed at step 2 in action F0: boom", "0: step 2/2"));
        assertEquals(List.of("step 1/2", "step 2/2"), logs.get(0));
        assertEquals(1, FailureReport.of(1, logs, List.of(), null).rank());
    }

    @Test
    void progressBarOnlyOnATerminal() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        ProgressLine plain = new ProgressLine(new PrintStream(b, true), false);
        plain.line("step  10/100 | loss 1.0000 | acc 0.5");
        plain.line("done");
        assertEquals("step  10/100 | loss 1.0000 | acc 0.5\ndone\n", b.toString());
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        ProgressLine tty = new ProgressLine(new PrintStream(t, true), true);
        tty.line("step  50/100 | loss 1.0000 | acc 0.5 | 900 tok/s | 0.20 s | bubble 3.0% (max 4.0%) | peak 1 MiB");
        tty.line("done");
        assertEquals("\r[############............] 50/100  loss 1.0000  acc 0.5  900 tok/s  bubble 3.0%\u001b[K\ndone\n", t.toString());
    }

    @Test
    void shellQuoting() {
        assertEquals("/a/b.toml", Shell.quote("/a/b.toml"));
        assertEquals("'lib/*'", Shell.quote("lib/*"));
        assertEquals("'it'\\''s'", Shell.quote("it's"));
        assertEquals("''", Shell.quote(""));
    }

    @Test
    void theSavedConfigReadsBackToTheSameRun(@TempDir Path dir) throws Exception {
        ResolvedRun run = ResolvedRun.resolve("train", Path.of("..", "configs", "llama-small.toml"),
                List.of("train.steps=7", "pipeline.schedule=zb-h1", "model.seed=99", "train.backend=cuda-emulated",
                        "train.precision=bf16"), 2, "2 ranks");
        Path saved = dir.resolve("config.toml");
        Files.writeString(saved, run.toml());
        RunConfig back = RunConfig.load(saved, Map.of());
        assertEquals(run.config().toToml(), back.toToml());
        assertEquals(run.config().train(), back.train(), "every training setting survives the file");
        assertEquals("cuda-emulated", back.train().backend());
        assertEquals(7, back.train().steps());
        assertEquals(99, back.model().seed());
    }

    @Test
    void trainDryRunShowsConfigAndCommandAndWritesNothing(@TempDir Path dir) {
        Object[] r = BadInputTest.run(new TrainCommand(BadInputTest.CPU_ONLY), "--config", BadInputTest.TINY,
                "--set", "train.steps=30", "--nproc", "2", "--run-dir", dir.resolve("r").toString(), "--dry-run");
        String out = (String) r[1];
        assertEquals(0, r[0], (String) r[2]);
        assertTrue(out.contains("ranks       2 ranks (--nproc)"), out);
        assertTrue(out.contains("    steps = 30"), out);
        assertTrue(out.contains("stage 1: blocks.1 .. head"), out);
        assertTrue(out.contains("mpirun --oversubscribe -np 2 --output-filename " + dir.resolve("r").resolve("logs")), out);
        assertTrue(out.contains("org.twobp.worker.pipeline.WorkerMain --config " + dir.resolve("r").resolve("config.toml")
                + " --run-dir " + dir.resolve("r") + " --from auto"), out);
        assertFalse(Files.exists(dir.resolve("r")));
    }

    @Test
    void shortcutsAreOverrides(@TempDir Path dir) {
        Object[] r = BadInputTest.run(new TrainCommand(BadInputTest.CPU_ONLY), "--config", BadInputTest.TINY,
                "--steps", "12", "--schedule", "gpipe", "--no-2bp", "--run-dir", dir.resolve("r").toString(), "--dry-run");
        String out = (String) r[1];
        assertEquals(0, r[0], (String) r[2]);
        assertTrue(out.contains("    steps = 12") && out.contains("    schedule = \"gpipe\"")
                && out.contains("    two_bp = false"), out);
        r = BadInputTest.run(new TrainCommand(BadInputTest.CPU_ONLY), "--config", BadInputTest.TINY, "--2bp", "--no-2bp");
        assertEquals(2, r[0]);
    }

    @Test
    void submitDryRunPrintsTheScriptAndWritesNothing(@TempDir Path dir) {
        Object[] r = BadInputTest.run(new SubmitCommand(BadInputTest.CPU_ONLY), "--config", BadInputTest.TINY,
                "--nodes", "1", "--gpus-per-node", "0", "--ntasks-per-node", "2", "--time", "00:01:00",
                "--run-dir", dir.resolve("r").toString(), "--dry-run");
        String out = (String) r[1];
        assertEquals(0, r[0], (String) r[2]);
        assertTrue(out.contains("job         2 ranks (1 node x 2 CPU ranks), time limit 00:01:00, pre-timeout signal 30 s"),
                out);
        assertTrue(out.contains("#!/bin/bash\n") && out.contains("#SBATCH --signal=B:USR1@30"), out);
        assertFalse(Files.exists(dir.resolve("r")));
    }

    @Test
    void defaultRunNamesAreUniqueAndSafe(@TempDir Path dir) throws Exception {
        java.time.LocalDateTime now = java.time.LocalDateTime.of(2026, 1, 2, 3, 4, 5);
        assertEquals("evil_cd_touch_pwned_-20260102-030405",
                RunFolder.defaultName(Path.of("x", "evil\ncd;touch pwned\n.toml"), now));
        assertEquals("x_-20260102-030405", RunFolder.defaultName(Path.of("$(x).toml"), now));
        assertEquals("run-20260102-030405", RunFolder.defaultName(Path.of("`;`.toml"), now));
        // two trains in the same second: both chose the same default name before either wrote it
        ResolvedRun run = ResolvedRun.resolve("train", Path.of(BadInputTest.TINY), List.of(), 2, "2 ranks");
        RunFolder a = new RunFolder(dir.resolve("llama-tiny-20260102-030405"), true);
        RunFolder b = new RunFolder(dir.resolve("llama-tiny-20260102-030405"), true);
        RunFolder.Launch launch = new RunFolder.Launch(RunFolder.Launch.LOCAL, 2, null);
        RunFolder first = a.create("train", run, launch);
        RunFolder second = b.create("train", run, launch);
        assertEquals(dir.resolve("llama-tiny-20260102-030405"), first.dir());
        assertEquals(dir.resolve("llama-tiny-20260102-030405-2"), second.dir());
        assertTrue(Files.isRegularFile(second.config()));
        // a name the user chose is not silently changed
        RunFolder named = new RunFolder(dir.resolve("llama-tiny-20260102-030405"));
        UsageException e = org.junit.jupiter.api.Assertions.assertThrows(UsageException.class,
                () -> named.create("train", run, launch));
        assertTrue(e.getMessage().contains("already holds a run"), e.getMessage());
    }
}
