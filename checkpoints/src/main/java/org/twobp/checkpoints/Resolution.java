package org.twobp.checkpoints;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@code --from} chose: a complete checkpoint, or a fresh start ({@link #fresh()}), and
 * the newer step folders that were passed over, with the reason each was unusable (for the log).
 */
public record Resolution(CheckpointInfo checkpoint, List<String> skipped) {

    public Resolution {
        skipped = List.copyOf(skipped);
    }

    public boolean fresh() {
        return checkpoint == null;
    }

    /** The step folder to load; fails on a fresh start. */
    public Path dir() {
        if (checkpoint == null) {
            throw new CheckpointException("no checkpoint was chosen (fresh start); check fresh() first");
        }
        return checkpoint.dir();
    }

    /** The step to continue after; fails on a fresh start. */
    public long step() {
        if (checkpoint == null) {
            throw new CheckpointException("no checkpoint was chosen (fresh start); check fresh() first");
        }
        return checkpoint.step();
    }
}
