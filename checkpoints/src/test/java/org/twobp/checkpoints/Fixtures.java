package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A small transformer-like model whose tensors live in shared flat blocks (parameters, adam.m,
 * adam.v at the same offsets), as the engine lays them out, with awkward float values mixed in.
 */
final class Fixtures {

    private Fixtures() {
    }

    /** Names and shapes, in model order: embedding, blocks of attention/norm/conv, head. */
    static List<Map.Entry<String, int[]>> shapes(int blocks) {
        List<Map.Entry<String, int[]>> out = new ArrayList<>();
        out.add(Map.entry("embed.wte", new int[] {16, 8}));
        for (int b = 0; b < blocks; b++) {
            out.add(Map.entry("blocks." + b + ".attn.wq", new int[] {8, 8}));
            out.add(Map.entry("blocks." + b + ".attn.wk", new int[] {8, 8}));
            out.add(Map.entry("blocks." + b + ".ln.g", new int[] {8}));
            out.add(Map.entry("blocks." + b + ".conv.w", new int[] {2, 3, 4}));
        }
        out.add(Map.entry("head.scale", new int[0]));
        return out;
    }

    /** The model's tensors with value, adam.m and adam.v, all as slices of three shared blocks. */
    static List<TensorEntry> model(int blocks, long seed) {
        List<Map.Entry<String, int[]>> shapes = shapes(blocks);
        int total = 0;
        for (Map.Entry<String, int[]> e : shapes) {
            total += (int) TensorEntry.elements(e.getValue());
        }
        int pad = 5;
        float[] params = block(total + pad, seed);
        float[] m = block(total + pad, seed + 1);
        float[] v = block(total + pad, seed + 2);
        List<TensorEntry> out = new ArrayList<>();
        int off = pad;
        for (Map.Entry<String, int[]> e : shapes) {
            int n = (int) TensorEntry.elements(e.getValue());
            out.add(TensorEntry.of(e.getKey(), e.getValue(), new FloatSlice(params, off, n))
                    .with("adam.m", new FloatSlice(m, off, n))
                    .with("adam.v", new FloatSlice(v, off, n)));
            off += n;
        }
        return out;
    }

    private static float[] block(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rng.nextGaussian();
        }
        a[n - 1] = Float.intBitsToFloat(0x7fc01234);   // NaN with a payload
        a[n - 2] = -0.0f;
        a[n - 3] = Float.NEGATIVE_INFINITY;
        a[n - 4] = Float.MIN_VALUE;                     // subnormal
        return a;
    }

    static TrainingState state(long step, int stage) {
        return TrainingState.at(step)
                .withLr("lr", 3e-4).withLr("warmup_left", 12.0)
                .withRng("dropout", 0x9e3779b97f4a7c15L, -1L, stage)
                .withRng("init", Long.MIN_VALUE, Long.MAX_VALUE)
                .withDataPosition(1234L * step, 0x0f1e2d3c4b5a6978L)
                .withDataPositionText("samples=" + 1234L * step + ",fingerprint=0f1e2d3c4b5a6978")
                .withConfig("[model]\nname = \"tiny\"\n# ünïcödé\n" + "x".repeat(40_000))
                .withSchedule("1F1B-2bp stages=" + stage)
                .withModel("vocab_size", "16").withModel("d_model", "8");
    }

    /** Contiguous cut of {@code tensors} into {@code stages} groups (the first ones get the extra). */
    static List<List<TensorEntry>> cut(List<TensorEntry> tensors, int stages) {
        List<List<TensorEntry>> out = new ArrayList<>();
        int at = 0;
        for (int s = 0; s < stages; s++) {
            int n = tensors.size() / stages + (s < tensors.size() % stages ? 1 : 0);
            out.add(tensors.subList(at, at + n));
            at += n;
        }
        return out;
    }

    /** Saves and commits one checkpoint of {@code tensors} cut into {@code stages}. */
    static Path save(Path runDir, long step, List<TensorEntry> tensors, int stages) {
        CheckpointWriter w = new CheckpointWriter(runDir);
        List<List<TensorEntry>> cut = cut(tensors, stages);
        for (int s = 0; s < stages; s++) {
            w.writeStage(s, stages, state(step, s), cut.get(s));
        }
        w.commit(step, stages);
        return CheckpointPaths.stepDir(runDir, step);
    }

    /** Writes the stage files of a step but not its manifest (the job "died" before commit). */
    static Path saveUncommitted(Path runDir, long step, List<TensorEntry> tensors, int stages, int stagesWritten) {
        CheckpointWriter w = new CheckpointWriter(runDir);
        List<List<TensorEntry>> cut = cut(tensors, stages);
        for (int s = 0; s < stagesWritten; s++) {
            w.writeStage(s, stages, state(step, s), cut.get(s));
        }
        return CheckpointPaths.stepDir(runDir, step);
    }

    /** Renames step folder {@code step} to {@code stale-step-N-<millis>}, as a resume does with an abandoned history. */
    static Path setAside(Path runDir, long step, long millis) {
        Path stale = CheckpointPaths.checkpointsDir(runDir).resolve(CheckpointPaths.staleDirName(step, millis));
        try {
            Files.move(CheckpointPaths.stepDir(runDir, step), stale);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return stale;
    }

    static List<String> names(List<TensorEntry> tensors) {
        return tensors.stream().map(TensorEntry::name).toList();
    }

    static List<String> listing(Path dir) {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void assertSameBits(TensorEntry expected, TensorEntry actual) {
        assertTrue(expected.sameBits(actual), () -> "tensor " + expected.name() + " differs after the round trip: "
                + expected.info() + " vs " + actual.info());
    }

    /** Overwrites one byte of a file with its complement. */
    static void flipByte(Path file, long position) {
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, position);
            b.flip();
            byte v = b.get(0);
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) ~v}), position);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where the little-endian bytes of {@code data} begin inside {@code file}. */
    static long find(Path file, float[] data, int offset, int count) {
        try {
            byte[] all = Files.readAllBytes(file);
            java.nio.ByteBuffer pattern = java.nio.ByteBuffer.allocate(count * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++) {
                pattern.putFloat(data[offset + i]);
            }
            byte[] p = pattern.array();
            outer:
            for (int i = 0; i + p.length <= all.length; i++) {
                for (int j = 0; j < p.length; j++) {
                    if (all[i + j] != p[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            throw new AssertionError("data not found in " + file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
