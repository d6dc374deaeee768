package org.twobp.checkpoints;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Which checkpoints to keep: the newest {@code keepLast} complete ones, and every complete one
 * whose step is a multiple of {@code keepEvery}. Older checkpoints are purged only once a newer
 * one is complete, so purging never leaves fewer than {@code keepLast}; folders newer than the
 * newest complete checkpoint (one being written, or one that a crash cut short and the resumed
 * run will overwrite) are never touched. Incomplete or damaged folders older than the newest
 * complete checkpoint are purged. Run it on rank 0 after {@link CheckpointWriter#commit}.
 *
 * <p>Stale folders ({@code stale-step-N-<millis>}, later steps of a history that a resume
 * abandoned) are kept as long as a {@code step-N} folder of that step would be: a stale folder
 * is purged once {@code keepLast} complete checkpoints of the current history are at or past
 * its step. So one that is newer than the newest complete checkpoint is never purged, nor the
 * stale folder a run was resumed from (by its path) before {@code keepLast} checkpoints followed
 * it; and repeated crashes and resumes no longer pile up one more per resume: only those past the
 * oldest of the newest {@code keepLast} checkpoints remain. They are never milestones.
 */
public final class Retention {

    private final int keepLast;
    private final long keepEvery;

    /** {@code keepEvery} 0 keeps no extra milestones. */
    public Retention(int keepLast, long keepEvery) {
        if (keepLast < 2) {
            throw new CheckpointException("keep-last must be at least 2, got " + keepLast
                    + ": with one, a crash while the newest checkpoint is damaged would leave nothing to resume from");
        }
        if (keepEvery < 0) {
            throw new CheckpointException("keep-every must be 0 (none) or a positive number of steps, got " + keepEvery);
        }
        this.keepLast = keepLast;
        this.keepEvery = keepEvery;
    }

    /** The folders that {@link #apply} would purge, given what a scan found (any order, stale ones too). */
    public List<CheckpointInfo> toPurge(List<CheckpointInfo> found) {
        List<CheckpointInfo> complete = new ArrayList<>();
        for (CheckpointInfo c : found) {
            if (c.complete() && !c.stale()) {
                complete.add(c);
            }
        }
        complete.sort((a, b) -> Long.compare(b.step(), a.step()));
        List<CheckpointInfo> out = new ArrayList<>();
        if (complete.isEmpty()) {
            return out;
        }
        long newest = complete.get(0).step();
        List<Long> newestK = complete.subList(0, Math.min(keepLast, complete.size())).stream()
                .map(CheckpointInfo::step).toList();
        for (CheckpointInfo c : found) {
            boolean keep;
            if (c.stale()) {
                // the oldest of the newest keepLast complete checkpoints has reached its step
                keep = c.step() < 0 || newestK.size() < keepLast || newestK.get(newestK.size() - 1) < c.step();
            } else {
                keep = c.step() >= newest
                        || (c.complete() && newestK.contains(c.step()))
                        || (c.complete() && keepEvery > 0 && c.step() % keepEvery == 0);
            }
            if (!keep) {
                out.add(c);
            }
        }
        out.sort((a, b) -> Long.compare(a.step(), b.step()));
        return out;
    }

    /** Purges what {@link #toPurge} names under {@code runDir}; returns the purged folders. */
    public List<Path> apply(Path runDir) {
        Path root = CheckpointPaths.checkpointsDir(runDir);
        List<Path> purged = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return purged;
        }
        removeUnfinishedPurges(root);
        List<CheckpointInfo> found = new ArrayList<>(CheckpointScan.list(runDir, Check.QUICK));
        found.addAll(CheckpointScan.listStale(runDir, Check.MANIFEST));   // only their steps count
        for (CheckpointInfo c : toPurge(found)) {
            purge(root, c.dir());
            purged.add(c.dir());
        }
        return purged;
    }

    /**
     * Renames the folder out of the {@code step-N} namespace first, so a crash halfway through
     * the deletion never leaves something that looks like a (partial) checkpoint.
     */
    private static void purge(Path root, Path dir) {
        Path doomed = root.resolve(CheckpointPaths.PURGING_PREFIX + dir.getFileName());
        try {
            DurableFiles.deleteTree(doomed);
            Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
            DurableFiles.syncFolder(root);
            DurableFiles.deleteTree(doomed);
        } catch (IOException e) {
            throw new CheckpointException("cannot purge old checkpoint " + dir + ": " + e.getMessage()
                    + "; check permissions, or delete it by hand", e);
        }
    }

    private static void removeUnfinishedPurges(Path root) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, CheckpointPaths.PURGING_PREFIX + "*")) {
            for (Path p : ds) {
                DurableFiles.deleteTree(p);
            }
        } catch (IOException e) {
            // retried by the next purge
        }
    }
}
