package org.twobp.checkpoints;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

/** Finds a run's step folders and tells which are complete checkpoints. */
public final class CheckpointScan {

    private CheckpointScan() {
    }

    /** Every {@code step-N} folder under {@code RUN_DIR/checkpoints}, oldest first. */
    public static List<CheckpointInfo> list(Path runDir, Check check) {
        Path root = CheckpointPaths.checkpointsDir(runDir);
        List<CheckpointInfo> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        for (Path dir : stepDirs(root)) {
            out.add(inspect(dir, check));
        }
        return out;
    }

    /**
     * Every {@code stale-step-N-<millis>} folder under {@code RUN_DIR/checkpoints} (later steps of
     * abandoned histories, set aside on resume), by step, then by the time they were set aside.
     */
    public static List<CheckpointInfo> listStale(Path runDir, Check check) {
        Path root = CheckpointPaths.checkpointsDir(runDir);
        List<CheckpointInfo> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        List<Path> dirs = folders(root, name -> CheckpointPaths.parseStaleStep(name) >= 0);
        dirs.sort(Comparator.<Path>comparingLong(p -> CheckpointPaths.parseStaleStep(p.getFileName().toString()))
                .thenComparingLong(p -> CheckpointPaths.parseStaleTime(p.getFileName().toString())));
        for (Path dir : dirs) {
            CheckpointInfo c = inspect(dir, check);
            long step = CheckpointPaths.parseStaleStep(dir.getFileName().toString());
            String problem = c.step() < 0 || c.step() == step ? c.problem()
                    : "its manifest says step " + c.step() + ", the folder name says " + step;
            out.add(new CheckpointInfo(step, dir, problem == null && c.complete(), c.stages(), c.bytes(), problem, true));
        }
        return out;
    }

    static List<Path> stepDirs(Path checkpointsDir) {
        List<Path> dirs = folders(checkpointsDir, name -> CheckpointPaths.parseStep(name) >= 0);
        dirs.sort(Comparator.comparingLong(p -> CheckpointPaths.parseStep(p.getFileName().toString())));
        return dirs;
    }

    private static List<Path> folders(Path checkpointsDir, java.util.function.Predicate<String> name) {
        List<Path> dirs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(checkpointsDir)) {
            for (Path p : ds) {
                if (name.test(p.getFileName().toString()) && Files.isDirectory(p)) {
                    dirs.add(p);
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("cannot list " + checkpointsDir + ": " + e.getMessage(), e);
        }
        return dirs;
    }

    /** Looks at one step folder. */
    public static CheckpointInfo inspect(Path dir, Check check) {
        long step = CheckpointPaths.parseStep(dir.getFileName().toString());
        if (!Files.isDirectory(dir)) {
            return new CheckpointInfo(step, dir, false, -1, 0, Files.exists(dir)
                    ? "is not a folder; give a step folder (RUN_DIR/checkpoints/step-N) or a run directory"
                    : "does not exist");
        }
        if (!Manifest.exists(dir)) {
            return new CheckpointInfo(step, dir, false, guessStages(dir), folderBytes(dir),
                    "incomplete: no " + CheckpointPaths.MANIFEST + " (" + stageFilesText(dir)
                            + "); the job stopped or a stage failed while saving");
        }
        Manifest m;
        try {
            m = Manifest.read(dir);
        } catch (CheckpointException e) {
            return new CheckpointInfo(step, dir, false, guessStages(dir), folderBytes(dir), e.getMessage());
        }
        if (step >= 0 && m.step() != step) {
            return new CheckpointInfo(step, dir, false, m.stages(), m.totalBytes(), "its manifest says step "
                    + m.step() + ", the folder name says " + step + "; the folder was renamed or copied wrongly");
        }
        String problem = check == Check.MANIFEST ? null : fileProblem(dir, m, check == Check.FULL);
        return new CheckpointInfo(m.step(), dir, problem == null, m.stages(), m.totalBytes(), problem);
    }

    /** The first way the stage files differ from the manifest, or null. */
    static String fileProblem(Path dir, Manifest m, boolean checksums) {
        for (Manifest.FileEntry f : m.files()) {
            Path p = dir.resolve(f.name());
            long size;
            try {
                size = Files.size(p);
            } catch (IOException e) {
                return "damaged: " + f.name() + " is missing";
            }
            if (size != f.bytes()) {
                return "damaged: " + f.name() + " has " + size + " bytes, the manifest recorded " + f.bytes()
                        + " (truncated or overwritten)";
            }
            if (checksums) {
                long crc = Checksums.ofFile(p);
                if (crc != f.crc32()) {
                    return "damaged: " + f.name() + " has CRC-32 " + Checksums.hex(crc) + ", the manifest recorded "
                            + Checksums.hex(f.crc32()) + " (its bytes changed after saving)";
                }
            }
        }
        return null;
    }

    private static int guessStages(Path dir) {
        TreeSet<Integer> counts = new TreeSet<>();
        forEachStageFile(dir, parsed -> counts.add(parsed[1]));
        return counts.size() == 1 ? counts.first() : -1;
    }

    private static String stageFilesText(Path dir) {
        List<String> names = new ArrayList<>();
        forEachStageFile(dir, parsed -> names.add(CheckpointPaths.stageFileName(parsed[0], parsed[1])));
        names.sort(null);
        return names.isEmpty() ? "no stage files" : "stage files present: " + String.join(", ", names);
    }

    private static void forEachStageFile(Path dir, java.util.function.Consumer<int[]> action) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                int[] parsed = CheckpointPaths.parseStageFile(p.getFileName().toString());
                if (parsed != null) {
                    action.accept(parsed);
                }
            }
        } catch (IOException e) {
            // an unreadable folder is reported as having no stage files
        }
    }

    static long folderBytes(Path dir) {
        long total = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (Files.isRegularFile(p)) {
                    total += Files.size(p);
                }
            }
        } catch (IOException e) {
            // sizes are informative only
        }
        return total;
    }
}
