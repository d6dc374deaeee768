package org.twobp.checkpoints;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writing that survives a crash or a power cut: data is forced to disk before the rename that
 * publishes it, and the folder is forced after, so the new name cannot point at missing data.
 * jhdf never syncs, and a file closed after an exception looks valid, so every checkpoint file
 * goes through {@link #publish}.
 */
final class DurableFiles {

    private DurableFiles() {
    }

    /** Forces {@code tmp} to disk, renames it atomically to {@code target} and forces the folder. */
    static void publish(Path tmp, Path target) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the file system of " + target.getParent()
                    + " cannot rename atomically; put the run directory on a local or POSIX file system", e);
        }
        syncFolder(target.getParent());
    }

    /** Writes a small text file durably (temporary name, fsync, rename). */
    static void writeText(Path target, String text) {
        Path tmp = CheckpointPaths.temporaryFor(target);
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            publish(tmp, target);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new CheckpointException("cannot write " + target + ": " + e.getMessage()
                    + "; check free space and permissions", e);
        } catch (RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /** Forces a folder's entries (new names, renames) to disk; a no-op where the OS cannot. */
    static void syncFolder(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems (and non-Linux platforms) cannot open or sync a directory; the
            // rename itself is still atomic there, only its durability after a power cut is weaker.
        }
    }

    static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // best effort: a leftover temporary file is never mistaken for a checkpoint file
        }
    }

    /** Deletes a folder and everything in it (no symbolic links are followed). */
    static void deleteTree(Path dir) throws IOException {
        if (Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                for (Path p : ds) {
                    deleteTree(p);
                }
            }
        }
        Files.deleteIfExists(dir);
    }
}
