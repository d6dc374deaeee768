package org.twobp.launcher;

import java.util.List;
import java.util.Map;

import org.twobp.checkpoints.Check;
import org.twobp.checkpoints.CheckpointInfo;
import org.twobp.checkpoints.CheckpointScan;
import org.twobp.worker.pipeline.RunConfig;

/** Where a run stands on disk: its final step, and which checkpoints are committed. */
record RunState(RunFolder run, int finalStep, List<CheckpointInfo> checkpoints) {

    static RunState of(RunFolder run) {
        int steps;
        try {
            steps = RunConfig.load(run.config(), Map.of()).train().steps();
        } catch (RuntimeException e) {
            steps = -1;
        }
        return new RunState(run, steps, CheckpointScan.list(run.dir(), Check.MANIFEST));
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

    String verdict() {
        CheckpointInfo c = newest();
        if (finished()) {
            return "finished: step " + finalStep + " is committed in " + run.dir().resolve("checkpoints");
        }
        if (c == null) {
            return "no checkpoint yet: 'twobp resume " + run.dir() + "' starts it from step 0";
        }
        return "stopped after step " + c.step() + " of " + finalStep + " (checkpoint " + c.dir()
                + "): continue with  twobp resume " + run.dir();
    }

    /** "step-100 (complete), step-200 (incomplete: ...)". */
    String describeCheckpoints() {
        if (checkpoints.isEmpty()) {
            return "none";
        }
        StringBuilder s = new StringBuilder();
        for (CheckpointInfo c : checkpoints) {
            s.append(s.length() == 0 ? "" : ", ").append("step-").append(c.step())
                    .append(c.complete() ? "" : " (" + c.problem() + ")");
        }
        return s.toString();
    }
}
