package org.twobp.checkpoints;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Saves checkpoints in two calls that span the ranks of a job:
 * <pre>
 *   writer.writeStage(stage, stages, state, tensors);   // every rank, for the stage it owns
 *   transport.barrier();                                 // the runtime's: all stage files are in place
 *   if (rank == 0) writer.commit(step, stages);          // checks them and writes the manifest, last
 * </pre>
 * Each stage file is written under a temporary name, forced to disk and renamed, so a failure
 * at any point leaves no file under a final name that is not complete, and never touches another
 * step's files. Until {@link #commit} writes the manifest, the step folder is not a checkpoint.
 */
public final class CheckpointWriter {

    /** Arrays larger than this are stored as several datasets (jhdf reads at most 2 GiB at once). */
    public static final long DEFAULT_SPLIT_BYTES = 1L << 30;

    private final Path runDir;
    private final long splitBytes;

    public CheckpointWriter(Path runDir) {
        this(runDir, DEFAULT_SPLIT_BYTES);
    }

    /** {@code splitBytes}: arrays over this many bytes are split into parts along axis 0. */
    public CheckpointWriter(Path runDir, long splitBytes) {
        if (splitBytes < Float.BYTES || splitBytes > DEFAULT_SPLIT_BYTES) {
            throw new CheckpointException("split size " + splitBytes + " bytes is out of range; use 4 B to 1 GiB");
        }
        this.runDir = runDir;
        this.splitBytes = splitBytes;
    }

    public Path runDir() {
        return runDir;
    }

    /**
     * Writes this rank's stage file for step {@code state.step()} and returns its path. If it
     * fails (here or in the iteration over {@code tensors}), the temporary file is removed and
     * the exception says so. Refuses to write into a step that is already a complete checkpoint.
     * jhdf writes the whole file at close, so the heap holds a copy of this stage's arrays (values
     * and companions) until this returns; {@code tensors} may be produced lazily (e.g. copied from
     * the device one by one), but all of them are kept until then.
     */
    public Path writeStage(int stage, int stages, TrainingState state, Iterable<TensorEntry> tensors) {
        if (stages < 1 || stage < 0 || stage >= stages) {
            throw new CheckpointException("stage " + stage + " of " + stages
                    + " does not exist; stages are numbered 0.." + (stages - 1));
        }
        long step = state.step();
        Path dir = CheckpointPaths.stepDir(runDir, step);
        if (Manifest.exists(dir)) {
            throw new CheckpointException(dir + " is already a complete checkpoint; a run that resumed from an "
                    + "earlier step must not overwrite it: delete it (or use a new run directory) to save step "
                    + step + " again");
        }
        Path target = dir.resolve(CheckpointPaths.stageFileName(stage, stages));
        Path tmp = CheckpointPaths.temporaryFor(target);
        try {
            Files.createDirectories(dir);
            StageFileWriter.write(tmp, stage, stages, state, tensors, splitBytes);
            DurableFiles.publish(tmp, target);
            return target;
        } catch (IOException e) {
            DurableFiles.deleteQuietly(tmp);
            throw new CheckpointException("saving stage " + stage + " of step " + step + " to " + target + " failed: "
                    + e.getMessage() + "; check free space and permissions (no file was left under the final name, "
                    + "earlier checkpoints are untouched)", e);
        } catch (CheckpointException e) {
            DurableFiles.deleteQuietly(tmp);
            throw e;
        } catch (RuntimeException | Error e) {
            DurableFiles.deleteQuietly(tmp);
            if (e instanceof Error err) {
                throw err;
            }
            throw new CheckpointException("saving stage " + stage + " of step " + step + " failed: " + e
                    + " (the partial file was removed; earlier checkpoints are untouched)", e);
        }
    }

    /**
     * Rank 0, after every rank's {@link #writeStage} returned (a barrier): checks that the
     * {@code stages} files of step {@code step} are all there and consistent, removes leftovers of
     * interrupted attempts in that folder, and writes the manifest. Returns the manifest; if the
     * step is already committed with the same stage count, returns the existing one.
     */
    public Manifest commit(long step, int stages) {
        Path dir = CheckpointPaths.stepDir(runDir, step);
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException("cannot commit step " + step + ": " + dir + " does not exist; every rank must "
                    + "call writeStage for this step before rank 0 commits it");
        }
        if (Manifest.exists(dir)) {
            Manifest existing = Manifest.read(dir);
            if (existing.stages() == stages) {
                return existing;
            }
            throw new CheckpointException(dir + " is already committed with " + existing.stages() + " stages, not "
                    + stages);
        }
        List<String> missing = new ArrayList<>();
        for (int s = 0; s < stages; s++) {
            if (!Files.isRegularFile(dir.resolve(CheckpointPaths.stageFileName(s, stages)))) {
                missing.add(CheckpointPaths.stageFileName(s, stages));
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException("cannot commit step " + step + " in " + dir + ": missing " + missing
                    + "; every rank must finish writeStage before rank 0 commits (put a barrier between them)");
        }
        List<Manifest.FileEntry> files = new ArrayList<>();
        List<Manifest.TensorRecord> tensors = new ArrayList<>();
        Map<String, String> owner = new HashMap<>();
        for (int s = 0; s < stages; s++) {
            String name = CheckpointPaths.stageFileName(s, stages);
            Path file = dir.resolve(name);
            try (StageFileReader r = StageFileReader.open(file)) {
                if (r.step() != step || r.stage() != s || r.stages() != stages) {
                    throw new CheckpointException(file + " says step " + r.step() + ", stage " + r.stage() + " of "
                            + r.stages() + "; expected step " + step + ", stage " + s + " of " + stages
                            + ": it was not written for this checkpoint");
                }
                for (String t : r.tensorNames()) {
                    String before = owner.putIfAbsent(t, name);
                    if (before != null) {
                        throw new CheckpointException("tensor " + t + " is in both " + before + " and " + name
                                + " of step " + step + "; each tensor must belong to exactly one stage");
                    }
                    TensorInfo info = r.info(t);
                    Map<String, Long> crcs = new LinkedHashMap<>();
                    for (String a : info.arrays()) {
                        crcs.put(a, r.storedCrc(t, a));
                    }
                    tensors.add(new Manifest.TensorRecord(name, t, info.shape(), crcs));
                }
            }
            try {
                files.add(new Manifest.FileEntry(name, s, Files.size(file), Checksums.ofFile(file)));
            } catch (IOException e) {
                throw new CheckpointException("cannot read the size of " + file + ": " + e.getMessage(), e);
            }
        }
        removeLeftovers(dir, stages);
        Manifest m = new Manifest(step, stages, System.currentTimeMillis(), files, tensors);
        m.write(dir);
        DurableFiles.syncFolder(dir.getParent());
        return m;
    }

    /** Temporary files and stage files of another stage count, left by interrupted attempts. */
    private static void removeLeftovers(Path dir, int stages) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                int[] parsed = CheckpointPaths.parseStageFile(n);
                if (CheckpointPaths.isTemporary(n) || (parsed != null && parsed[1] != stages)) {
                    DurableFiles.deleteQuietly(p);
                }
            }
        } catch (IOException e) {
            // leftovers are ignored by readers; failing to list them must not fail the commit
        }
    }
}
