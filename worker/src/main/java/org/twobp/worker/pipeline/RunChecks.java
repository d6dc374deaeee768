package org.twobp.worker.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;

import org.twobp.datasets.Datasets;

/**
 * What can be known about a run before any process starts: that its data opens as the ranks
 * will open it, that its backend and precision fit the machine, that the folder for
 * {@code --dump-weights} can be written. The launcher runs these before it writes a run folder;
 * every rank runs them before MPI starts. A problem is an IllegalArgumentException naming the
 * key, the value and the fix.
 */
public final class RunChecks {

    private RunChecks() {
    }

    /**
     * Opens and closes the run's dataset with the model's sequence length and vocabulary: a missing or
     * empty file, a wrong dtype, a token id at or above the vocabulary, a missing HDF5 dataset.
     */
    public static void data(RunConfig config) {
        String spec = config.train().data();
        try {
            // open() runs every check; nothing is read
            Datasets.open(spec, config.model().seqLen(), config.model().vocabSize(), config.train().seed()).close();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("train.data = " + org.twobp.worker.train.TomlWriter.quoted(spec)
                    + ": " + e.getMessage(), e);
        }
    }

    /** The backend and precision need a GPU where {@code gpu} says there is none. */
    public static void backend(RunConfig config, boolean gpu) {
        String backend = config.train().backend();
        String precision = config.train().precision();
        if (gpu) {
            return;
        }
        if (backend.equals("cuda")) {
            throw new IllegalArgumentException("train.backend = \"cuda\" needs an NVIDIA GPU and this machine has none:"
                    + " use --set train.backend=cpu (or auto), or run on a GPU node");
        }
        if (backend.equals("auto") && !precision.equals("fp32")) {
            throw new IllegalArgumentException("train.precision = \"" + precision + "\" needs a GPU and this machine"
                    + " has none (backend auto chooses cpu): use --set train.precision=fp32, or run on a GPU node");
        }
    }

    /**
     * The {@code --dump-weights} folder: an existing writable folder, or one that can be made in the
     * nearest existing folder above it. Nothing is created here.
     */
    public static void dumpFolder(Path dir) {
        if (dir == null) {
            return;
        }
        Path p = dir.toAbsolutePath().normalize();
        if (Files.exists(p)) {
            if (!Files.isDirectory(p)) {
                throw new IllegalArgumentException("--dump-weights " + dir + " is a file, not a folder: give a folder"
                        + " (it is made if missing)");
            }
            if (!Files.isWritable(p)) {
                throw new IllegalArgumentException("--dump-weights " + dir + " is not writable: choose a folder you can"
                        + " write to");
            }
            return;
        }
        Path above = p.getParent();
        while (above != null && !Files.exists(above)) {
            above = above.getParent();
        }
        if (above == null || !Files.isDirectory(above) || !Files.isWritable(above)) {
            throw new IllegalArgumentException("--dump-weights " + dir + " cannot be made: " + above
                    + (above != null && !Files.isDirectory(above) ? " is a file" : " is not writable")
                    + "; choose a folder you can write to");
        }
    }
}
