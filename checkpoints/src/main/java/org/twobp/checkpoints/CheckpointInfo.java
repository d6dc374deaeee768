package org.twobp.checkpoints;

import java.nio.file.Path;

/**
 * One step folder as found on disk: complete (committed, and sound as far as it was checked) or
 * not, with the reason. {@code stages} is -1 when it cannot be told.
 */
public record CheckpointInfo(long step, Path dir, boolean complete, int stages, long bytes, String problem) {

    /** "step-500 (runs/x/checkpoints/step-500): incomplete: no manifest.txt (...)", for logs. */
    public String describe() {
        String name = step >= 0 ? CheckpointPaths.stepDirName(step) : String.valueOf(dir.getFileName());
        return name + " (" + dir + "): " + (complete ? "complete" : problem);
    }
}
