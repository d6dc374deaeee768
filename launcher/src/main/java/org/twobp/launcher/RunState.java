package org.twobp.launcher;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.twobp.checkpoints.Check;
import org.twobp.checkpoints.CheckpointInfo;
import org.twobp.checkpoints.CheckpointScan;
import org.twobp.worker.pipeline.RunConfig;

/**
 * Where a run stands on disk: its final step, which checkpoints are committed, and the stale
 * folders resumes set aside. {@link #verdict(Activity)} adds what is happening to it.
 */
record RunState(RunFolder run, int finalStep, List<CheckpointInfo> checkpoints, List<CheckpointInfo> stale) {

    static RunState of(RunFolder run) {
        int steps;
        try {
            steps = RunConfig.load(run.config(), Map.of()).train().steps();
        } catch (RuntimeException e) {
            steps = -1;
        }
        return new RunState(run, steps, CheckpointScan.list(run.dir(), Check.MANIFEST),
                CheckpointScan.listStale(run.dir(), Check.MANIFEST));
    }

    /**
     * What else is known of a run besides its files: its newest Slurm job as Slurm reports it
     * (null: none, or Slurm forgot it), the pids of its ranks alive on this machine, and whether
     * its last attempt failed (a rank's error, or a non-zero exit code that was not a stop).
     */
    record Activity(SlurmJobs.Job job, List<Long> ranksHere, boolean failed) {

        static final Activity NONE = new Activity(null, List.of(), false);
    }

    /** The newest committed checkpoint, or null. */
    CheckpointInfo newest() {
        for (int i = checkpoints.size() - 1; i >= 0; i--) {
            if (checkpoints.get(i).complete()) {
                return checkpoints.get(i);
            }
        }
        return null;
    }

    boolean finished() {
        CheckpointInfo c = newest();
        return c != null && finalStep > 0 && c.step() >= finalStep;
    }

    /** The verdict from the files alone. */
    String verdict() {
        return verdict(Activity.NONE);
    }

    /** One line: what the run is doing or how it ended, and what {@code twobp resume} would do next. */
    String verdict(Activity a) {
        CheckpointInfo c = newest();
        SlurmJobs.Job job = a.job();
        String committed = c == null ? "no checkpoint committed yet" : "checkpoint step " + c.step() + " committed so far";
        if (job != null && job.queued()) {
            return "queued: Slurm job " + job.id() + " is " + job.text() + "; it will "
                    + (c == null ? "start from step 0" : "continue after step " + c.step());
        }
        if (job != null && job.active()) {
            return "running: Slurm job " + job.id() + " is " + job.text() + "; " + committed;
        }
        if (!a.ranksHere().isEmpty()) {
            return "running on this machine (rank pids " + a.ranksHere() + "); " + committed;
        }
        if (finished()) {
            return "finished: step " + finalStep + " is committed in " + run.dir().resolve("checkpoints");
        }
        if (job != null && job.cancelled()) {
            return "cancelled (Slurm job " + job.id() + "); " + howToContinue();
        }
        if (job != null && job.timedOut()) {
            return "stopped by its time limit (Slurm job " + job.id() + " " + job.state() + "); " + howToContinue();
        }
        if (a.failed() || (job != null && job.failed())) {
            return "failed" + (job != null && job.failed() ? " (Slurm job " + job.id() + " " + job.state() + ")" : "")
                    + "; " + howToContinue();
        }
        if (c == null) {
            return "no checkpoint yet: 'twobp resume " + run.dir() + "' starts it from step 0";
        }
        return "stopped after step " + c.step() + " of " + finalStep + " (checkpoint " + c.dir()
                + "): continue with  twobp resume " + run.dir();
    }

    /** "checkpoint step N of M committed; continue with  twobp resume RUN", or that it starts over. */
    String howToContinue() {
        CheckpointInfo c = newest();
        if (c == null) {
            return "no checkpoint was committed: 'twobp resume " + run.dir() + "' starts the run again from step 0";
        }
        return "checkpoint step " + c.step() + (finalStep > 0 ? " of " + finalStep : "") + " committed; continue with"
                + "  twobp resume " + run.dir();
    }

    /** "step-100 (complete), step-200 (incomplete: ...); 2 stale folders, 1.2 MB". */
    String describeCheckpoints() {
        StringBuilder s = new StringBuilder();
        for (CheckpointInfo c : checkpoints) {
            s.append(s.length() == 0 ? "" : ", ").append("step-").append(c.step())
                    .append(c.complete() ? "" : " (" + c.problem() + ")");
        }
        if (s.length() == 0) {
            s.append("none");
        }
        if (!stale.isEmpty()) {
            long bytes = stale.stream().mapToLong(CheckpointInfo::bytes).sum();
            s.append(String.format(Locale.ROOT, "; %d stale folder%s set aside by resumes (%.1f MB, see twobp ckpt ls)",
                    stale.size(), stale.size() == 1 ? "" : "s", bytes / 1e6));
        }
        return s.toString();
    }

    /**
     * The pids of rank processes of the run in {@code runDir} alive on this machine (started by
     * {@code twobp train} or {@code resume} here, or by a job script on this node): JVMs whose
     * command line runs the worker with {@code --run-dir runDir}.
     */
    static List<Long> ranksHere(Path runDir) {
        String dir = runDir.toString();
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().command().map(c -> Path.of(c).getFileName().toString().startsWith("java"))
                        .orElse(false))
                .filter(p -> p.info().commandLine().map(line -> runsWorkerFor(line, dir)).orElse(false))
                .map(ProcessHandle::pid).sorted().toList();
    }

    static boolean runsWorkerFor(String commandLine, String runDir) {
        String arg = " --run-dir " + runDir;
        int at = commandLine.indexOf(arg);
        return commandLine.contains(" " + WorkerArgs.MAIN + " ") && at >= 0
                && (at + arg.length() == commandLine.length() || commandLine.charAt(at + arg.length()) == ' ');
    }
}
