package org.twobp.checkpoints;

import java.nio.file.Path;

/**
 * One step folder as found on disk: complete (committed, and sound as far as it was checked) or
 * not, with the reason. {@code stages} is -1 when it cannot be told. {@code stale}: a folder of
 * an abandoned history ({@code stale-step-N-<millis>}), never resumed from; its step is the one
 * in its name.
 */
public record CheckpointInfo(long step, Path dir, boolean complete, int stages, long bytes, String problem,
                             boolean stale) {

    /** A {@code step-N} folder. */
    public CheckpointInfo(long step, Path dir, boolean complete, int stages, long bytes, String problem) {
        this(step, dir, complete, stages, bytes, problem, false);
    }

    /** "step-500 (runs/x/checkpoints/step-500): incomplete: no manifest.txt (...)", for logs. */
    public String describe() {
        String name = step >= 0 && !stale ? CheckpointPaths.stepDirName(step) : String.valueOf(dir.getFileName());
        return name + " (" + dir + "): " + (complete ? "complete" : problem);
    }
}
