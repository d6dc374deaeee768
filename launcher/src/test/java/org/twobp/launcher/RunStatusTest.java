package org.twobp.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.checkpoints.CheckpointInfo;
import org.twobp.checkpoints.CheckpointPaths;
import org.twobp.checkpoints.CheckpointWriter;
import org.twobp.checkpoints.FloatSlice;
import org.twobp.checkpoints.TensorEntry;
import org.twobp.checkpoints.TrainingState;

/**
 * What {@code twobp status}, {@code twobp resume} and a failed local attempt say: the state Slurm
 * or this machine reports (running, queued, cancelled), what the ranks will resume from (their
 * own full check), and how a run without a checkpoint continues (from step 0).
 */
class RunStatusTest {

    @TempDir
    Path dir;

    private static final String RUNNING = "JobId=10 JobName=r UserId=root(0) Priority=1 Nice=0 Account=(null) QOS=(null)"
            + " JobState=RUNNING Reason=None Dependency=(null) Requeue=1 Restarts=1 BatchFlag=1 Reboot=0 ExitCode=0:0";

    private RunState state(int finalStep, long... committed) {
        RunFolder run = new RunFolder(dir.resolve("run"));
        List<CheckpointInfo> c = java.util.Arrays.stream(committed).mapToObj(s -> new CheckpointInfo(s,
                CheckpointPaths.stepDir(run.dir(), s), true, 2, 1_000, null)).toList();
        return new RunState(run, finalStep, c, List.of());
    }

    private static RunState.Activity job(String line) {
        return new RunState.Activity(SlurmJobs.parse("10", line), List.of(), false);
    }

    @Test
    void scontrolLinesAreRead() {
        SlurmJobs.Job j = SlurmJobs.parse("10", RUNNING);
        assertEquals(new SlurmJobs.Job("10", "RUNNING", 1, "None"), j);
        assertTrue(j.active() && !j.queued() && !j.cancelled());
        assertEquals("RUNNING, 1 restart", j.text());
        SlurmJobs.Job pending = SlurmJobs.parse("11", "JobId=11 JobState=PENDING Reason=Resources Restarts=0");
        assertTrue(pending.queued() && pending.active());
        assertEquals("PENDING (Resources), 0 restarts", pending.text());
        assertTrue(SlurmJobs.parse("12", "JobId=12 JobState=COMPLETING Reason=TimeLimit Restarts=0").timedOut());
        assertTrue(SlurmJobs.parse("13", "JobId=13 JobState=CANCELLED Reason=None Restarts=0").cancelled());
        assertEquals(null, SlurmJobs.parse("14", "slurm_load_jobs error: Invalid job id specified"));
    }

    @Test
    void aRunningOrQueuedJobIsReportedSoNotAsStopped() {
        String running = state(200, 50, 100).verdict(job(RUNNING));
        assertEquals("running: Slurm job 10 is RUNNING, 1 restart; checkpoint step 100 committed so far", running);
        String queued = state(200, 50, 100).verdict(job("JobState=PENDING Reason=BeginTime Restarts=2"));
        assertEquals("queued: Slurm job 10 is PENDING (BeginTime), 2 restarts; it will continue after step 100", queued);
        assertTrue(state(200).verdict(job("JobState=PENDING Reason=Priority")).endsWith("it will start from step 0"));
        assertTrue(state(200).verdict(job(RUNNING)).endsWith("RUNNING, 1 restart; no checkpoint committed yet"));
        String here = state(200, 50).verdict(new RunState.Activity(null, List.of(4711L, 4712L), false));
        assertEquals("running on this machine (rank pids [4711, 4712]); checkpoint step 50 committed so far", here);
        assertTrue(state(200, 50).verdict().startsWith("stopped after step 50 of 200"), "nothing known to be running");
    }

    @Test
    void aCancelledJobIsNotAFailure() {
        RunState s = state(200, 150, 156);
        String run = s.run().dir().toString();
        assertEquals("cancelled (Slurm job 10); checkpoint step 156 of 200 committed; continue with  twobp resume " + run,
                s.verdict(job("JobState=CANCELLED Reason=None Restarts=0")));
        assertEquals("cancelled (Slurm job 10); no checkpoint was committed: 'twobp resume " + run + "' starts the run"
                + " again from step 0", state(200).verdict(job("JobState=CANCELLED Reason=None Restarts=0")));
        assertTrue(s.verdict(job("JobState=TIMEOUT Reason=TimeLimit Restarts=0"))
                .startsWith("stopped by its time limit (Slurm job 10 TIMEOUT); checkpoint step 156 of 200 committed"));
        assertEquals("finished: step 200 is committed in " + s.run().dir().resolve("checkpoints"),
                state(200, 100, 200).verdict(job("JobState=CANCELLED Reason=None Restarts=0")));
    }

    @Test
    void aFailureWithoutACheckpointStartsOverFromStepZero() {
        String run = state(200).run().dir().toString();
        RunState.Activity failed = new RunState.Activity(null, List.of(), true);
        String none = state(200).verdict(failed);
        assertEquals("failed; no checkpoint was committed: 'twobp resume " + run + "' starts the run again from step 0",
                none);
        assertFalse(none.contains("newest checkpoint"), none);
        assertEquals("failed; checkpoint step 100 of 200 committed; continue with  twobp resume " + run,
                state(200, 50, 100).verdict(failed));
        assertEquals("failed (Slurm job 10 OUT_OF_MEMORY); checkpoint step 50 of 200 committed; continue with  twobp"
                + " resume " + run, state(200, 50).verdict(job("JobState=OUT_OF_MEMORY Reason=OutOfMemory")));
    }

    @Test
    void staleFoldersAreCountedInTheCheckpointLine() {
        RunState s = state(200, 50, 100);
        assertEquals("step-50, step-100", s.describeCheckpoints());
        List<CheckpointInfo> stale = List.of(
                new CheckpointInfo(150, dir.resolve("stale-step-150-1"), true, 2, 1_500_000, null, true),
                new CheckpointInfo(160, dir.resolve("stale-step-160-1"), false, 2, 300_000, "incomplete", true));
        assertEquals("step-50, step-100; 2 stale folders set aside by resumes (1.8 MB, see twobp ckpt ls)",
                new RunState(s.run(), 200, s.checkpoints(), stale).describeCheckpoints());
    }

    @Test
    void ranksOfARunAreFoundByTheirExactRunDir() {
        String line = "/usr/bin/java -Xss4m -cp /opt/lib/* " + WorkerArgs.MAIN + " --config /r/a/config.toml"
                + " --run-dir /r/a --from auto";
        assertTrue(RunState.runsWorkerFor(line, "/r/a"));
        assertFalse(RunState.runsWorkerFor(line, "/r"), "another run's folder is no prefix match");
        assertFalse(RunState.runsWorkerFor(line.replace("--run-dir /r/a", "--run-dir /r/ab"), "/r/a"));
        assertTrue(RunState.runsWorkerFor("java " + WorkerArgs.MAIN + " --run-dir /r/a", "/r/a"));
        assertFalse(RunState.runsWorkerFor("java org.twobp.launcher.Main train --run-dir /r/a", "/r/a"),
                "the launcher itself is no rank");
        assertEquals(List.of(), RunState.ranksHere(dir.resolve("nothing-runs-here")));
    }

    /** A local run folder of llama-tiny with checkpoints at {@code steps}, one stage file each. */
    private RunFolder runWithCheckpoints(long... steps) throws IOException {
        RunFolder run = new RunFolder(dir.resolve("run"));
        ResolvedRun r = ResolvedRun.resolve("train", Path.of(BadInputTest.TINY), List.of("train.steps=20"), 2, "2 ranks");
        if (!Files.exists(run.config())) {
            run.create("train", r, new RunFolder.Launch(RunFolder.Launch.LOCAL, 2, null));
        }
        float[] values = new float[40_000];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.25f;
        }
        for (long step : steps) {
            CheckpointWriter w = new CheckpointWriter(run.dir());
            w.writeStage(0, 1, TrainingState.at(step), List.of(TensorEntry.of("embed.wte", new int[] {200, 200},
                    FloatSlice.of(values))));
            w.commit(step, 1);
        }
        return run;
    }

    private static String[] resume(String... args) {
        Object[] r = BadInputTest.run(new ResumeCommand(BadInputTest.CPU_ONLY), args);
        assertEquals(0, r[0], (String) r[2]);
        return new String[] {(String) r[1], (String) r[2]};
    }

    @Test
    void resumeSaysWhatTheRanksWillDoWhenTheNewestCheckpointsDataIsDamaged() throws IOException {
        RunFolder run = runWithCheckpoints(5, 10);
        Path stage = CheckpointPaths.stepDir(run.dir(), 10).resolve("stage-0-of-1.h5");
        long size = Files.size(stage);
        try (FileChannel ch = FileChannel.open(stage, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, size / 2);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) ~b.get(0)}), size / 2);   // same size: only checksums see it
        }
        assertEquals(size, Files.size(stage));

        String out = resume(run.dir().toString(), "--dry-run")[0];
        assertTrue(out.contains("skipped step-10 (" + CheckpointPaths.stepDir(run.dir(), 10) + "): damaged:"
                + " stage-0-of-1.h5 has CRC-32"), out);
        assertTrue(out.contains("twobp resume: continues after step 5 (" + CheckpointPaths.stepDir(run.dir(), 5)), out);
        assertTrue(out.matches("(?s).*continues after step 5 \\(.*; 0\\.2 MB, checksums verified in \\d+\\.\\d\\d s\\).*"),
                out);
        assertFalse(out.contains("after step 10"), out);
    }

    @Test
    void resumeWithoutACheckpointStartsFromStepZeroAndAFinishedRunIsLeftAlone() throws IOException {
        RunFolder run = runWithCheckpoints();
        String out = resume(run.dir().toString(), "--dry-run")[0];
        assertTrue(out.contains("twobp resume: no complete checkpoint: the run starts again from step 0"), out);
        assertTrue(out.contains(WorkerArgs.MAIN), out);

        runWithCheckpoints(10, 20);
        assertTrue(resume(run.dir().toString(), "--dry-run")[0].contains("finished: step 20 of 20 is committed in "
                + run.dir().resolve("checkpoints") + "; nothing to do"));
    }

    @Test
    void aFailedLocalAttemptWithoutACheckpointSaysItStartsOver() throws Exception {
        Assumptions.assumeTrue(Environment.which("mpirun") != null, "needs mpirun");
        RunFolder run = runWithCheckpoints();
        Site failing = new Site("/bin/false", "unused", "", null);
        LocalLaunch launch = new LocalLaunch(failing, false, 1, run, "auto", List.of(), run.logs().resolve("local-x"),
                TrainCommand.isRoot());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = launch.run(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), false);
        String text = err.toString(StandardCharsets.UTF_8);
        assertNotEquals(0, code, text);
        assertTrue(text.contains("twobp: the run failed (mpirun exit code " + code + ")"), text);
        assertTrue(text.contains("run folder " + run.dir() + "; no checkpoint was committed: 'twobp resume " + run.dir()
                + "' starts the run again from step 0"), text);
        assertFalse(text.contains("newest checkpoint"), text);
    }
}
