package org.twobp.checkpoints;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Measures checkpoint throughput on the file system under {@code dir}: saves a synthetic
 * checkpoint of about {@code mb} MB (two stages of 2-D float32 tensors, normally distributed like
 * trained weights), commits it, loads every tensor back and verifies it; repeated, because the
 * first round runs in a cold JVM. Prints MB/s per phase. Save includes the fsyncs; commit
 * includes checksumming every file.
 */
final class SaveLoadBench {

    private static final int COLS = 4096;
    private static final int TENSOR_MB = 50;

    private SaveLoadBench() {
    }

    static void run(Path dir, int mb, int rounds, PrintStream out) throws IOException {
        int count = Math.max(2, mb / TENSOR_MB);
        int rows = Math.max(1, (int) ((long) mb * 1_000_000 / count / Float.BYTES / COLS));
        SplittableRandom rng = new SplittableRandom(1);
        List<TensorEntry> tensors = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            float[] a = new float[rows * COLS];
            for (int j = 0; j < a.length; j++) {
                a[j] = (float) (rng.nextGaussian() * 0.02);
            }
            tensors.add(TensorEntry.of("layers." + i + ".w", new int[] {rows, COLS}, FloatSlice.of(a)));
        }
        double megabytes = (double) count * rows * COLS * Float.BYTES / 1e6;
        out.printf(Locale.ROOT, "checkpoint of %.0f MB: %d tensors [%d, %d] float32 in 2 stage files, under %s%n",
                megabytes, count, rows, COLS, dir);
        out.println("round   save MB/s   commit MB/s   load MB/s   verify MB/s");
        Files.createDirectories(dir);
        Path run = Files.createTempDirectory(dir, "ckpt-bench-");
        try {
            for (int round = 1; round <= rounds; round++) {
                CheckpointWriter w = new CheckpointWriter(run);
                TrainingState state = TrainingState.at(round);
                int half = count / 2;
                long t0 = System.nanoTime();
                w.writeStage(0, 2, state, tensors.subList(0, half));
                w.writeStage(1, 2, state, tensors.subList(half, count));
                long t1 = System.nanoTime();
                w.commit(round, 2);
                long t2 = System.nanoTime();
                Path stepDir = CheckpointPaths.stepDir(run, round);
                CheckpointReader r = CheckpointReader.open(stepDir);
                r.read(r.tensors().stream().map(TensorInfo::name).toList());
                long t3 = System.nanoTime();
                VerifyReport v = Verifier.verify(stepDir);
                long t4 = System.nanoTime();
                if (!v.ok()) {
                    throw new CheckpointException("benchmark checkpoint failed verification:\n" + v.format());
                }
                out.printf(Locale.ROOT, "%5d   %9.0f   %11.0f   %9.0f   %11.0f%n", round, rate(megabytes, t0, t1),
                        rate(megabytes, t1, t2), rate(megabytes, t2, t3), rate(megabytes, t3, t4));
                DurableFiles.deleteTree(stepDir);
            }
        } finally {
            DurableFiles.deleteTree(run);
        }
    }

    private static double rate(double megabytes, long from, long to) {
        return megabytes / ((to - from) / 1e9);
    }
}
