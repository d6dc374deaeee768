package org.twobp.checkpoints;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The meaning of {@code --from}:
 * <ul>
 *   <li>{@code none}: start fresh, whatever is on disk.</li>
 *   <li>{@code auto}: the newest complete checkpoint of the run if there is one, else start fresh.</li>
 *   <li>{@code latest}: the newest complete checkpoint; an error if there is none.</li>
 *   <li>{@code <step>} (digits): that step of this run; an error if it is missing or incomplete.</li>
 *   <li>{@code <path>}: a step folder (anywhere), or a run directory (its newest complete checkpoint);
 *       an error if it is missing or incomplete.</li>
 * </ul>
 * Newer folders that are incomplete or damaged are skipped, and each is reported. With
 * {@link Check#FULL} (the default) every candidate's files are checksummed, which reads the
 * checkpoint once: let one rank resolve and pass the chosen step to the others.
 */
public final class ResumeResolver {

    static final String USAGE = "use --from auto|latest|<step>|<path>|none";

    private ResumeResolver() {
    }

    public static Resolution resolve(Path runDir, String option) {
        return resolve(runDir, option, Check.FULL);
    }

    public static Resolution resolve(Path runDir, String option, Check check) {
        if (option == null || option.isBlank()) {
            throw new CheckpointException("empty --from value; " + USAGE);
        }
        String o = option.strip();
        switch (o) {
            case "none":
                return new Resolution(null, List.of());
            case "auto":
                return newest(runDir, check, false);
            case "latest":
                return newest(runDir, check, true);
            default:
                break;
        }
        if (o.chars().allMatch(Character::isDigit)) {
            long step;
            try {
                step = Long.parseLong(o);
            } catch (NumberFormatException e) {
                throw new CheckpointException("--from " + o + " is not a step number; " + USAGE);
            }
            return exactly(CheckpointPaths.stepDir(runDir, step), check, runDir);
        }
        Path p = Path.of(o);
        if (!Files.exists(p)) {
            throw new CheckpointException("--from " + o + ": no such step number or path; " + USAGE);
        }
        if (Files.isDirectory(CheckpointPaths.checkpointsDir(p))) {
            return newest(p, check, true);
        }
        return exactly(p, check, null);
    }

    private static Resolution newest(Path runDir, Check check, boolean required) {
        List<Path> dirs = Files.isDirectory(CheckpointPaths.checkpointsDir(runDir))
                ? CheckpointScan.stepDirs(CheckpointPaths.checkpointsDir(runDir)) : List.of();
        List<String> skipped = new ArrayList<>();
        for (int i = dirs.size() - 1; i >= 0; i--) {
            CheckpointInfo c = CheckpointScan.inspect(dirs.get(i), check);
            if (c.complete()) {
                return new Resolution(c, skipped);
            }
            skipped.add(c.describe());
        }
        if (required) {
            throw new CheckpointException("no complete checkpoint in " + CheckpointPaths.checkpointsDir(runDir)
                    + (skipped.isEmpty() ? "" : "; skipped: " + String.join("; ", skipped))
                    + "; start fresh with --from none (or auto)");
        }
        return new Resolution(null, skipped);
    }

    private static Resolution exactly(Path dir, Check check, Path runDir) {
        CheckpointInfo c = CheckpointScan.inspect(dir, check);
        if (c.complete()) {
            return new Resolution(c, List.of());
        }
        String available = "";
        if (runDir != null) {
            List<Long> steps = CheckpointScan.list(runDir, Check.MANIFEST).stream()
                    .filter(CheckpointInfo::complete).map(CheckpointInfo::step).toList();
            available = steps.isEmpty() ? "; the run has no complete checkpoint"
                    : "; committed checkpoints of this run: steps " + steps;
        }
        throw new CheckpointException("cannot resume from " + dir + ": " + c.problem() + available
                + "; choose another with --from <step>, or use --from latest");
    }
}
