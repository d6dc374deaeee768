package org.twobp.checkpoints;

import io.jhdf.HdfFile;
import io.jhdf.WritableHdfFile;
import io.jhdf.api.WritableGroup;
import io.jhdf.api.WritableNode;
import java.lang.reflect.Array;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes one stage file (any path; publishing it atomically is the caller's job). Layout:
 * <pre>
 *   /                       attrs format="twobp-checkpoint", format_version, step, stage, stages, tensors, created_unix_ms
 *   /tensor_names           string[]: tensor names in the order given
 *   /tensors/NAME           group, attrs rank, shape (long[], absent for rank 0), arrays ("value,adam.m,...")
 *   /tensors/NAME/ARRAY     float32 dataset in the tensor's shape (rank 0: [1]), attr crc32
 *   /tensors/NAME/ARRAY     or, over the split size, a group: attrs crc32, parts, rows (axis-0 rows per part),
 *                           holding part-000, part-001, ... (consecutive slices along axis 0)
 *   /state                  attrs step, lr.KEY (double), rng.KEY (long[]), data_position (long[]),
 *                           data_position_text, model.KEY (string)
 *   /state/config           string dataset (datasets, not attributes: jhdf corrupts attributes over ~32 KiB)
 *   /state/schedule         string dataset
 * </pre>
 * jhdf keeps every array until {@code close()}, so the heap holds one copy of the stage's
 * tensors while a file is written. Arrays of rank 2 and up are handed over row by row
 * ({@code float[rows][cols]}), which jhdf writes without a second full-size buffer.
 */
final class StageFileWriter {

    static final String FORMAT = "twobp-checkpoint";
    static final int FORMAT_VERSION = 1;

    private StageFileWriter() {
    }

    static void write(Path file, int stage, int stages, TrainingState state, Iterable<TensorEntry> tensors,
                      long splitBytes) {
        try (WritableHdfFile f = HdfFile.write(file)) {
            f.putAttribute("format", FORMAT);
            f.putAttribute("format_version", FORMAT_VERSION);
            f.putAttribute("step", state.step());
            f.putAttribute("stage", stage);
            f.putAttribute("stages", stages);
            f.putAttribute("created_unix_ms", System.currentTimeMillis());
            putState(f.putGroup("state"), state);

            WritableGroup group = f.putGroup("tensors");
            List<String> names = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            for (TensorEntry t : tensors) {
                if (!seen.add(t.name())) {
                    throw new CheckpointException("tensor " + t.name() + " is given twice for stage " + stage
                            + "; every tensor name must be unique within a checkpoint");
                }
                putTensor(group, t, splitBytes);
                names.add(t.name());
            }
            f.putAttribute("tensors", names.size());
            if (!names.isEmpty()) {
                f.putDataset("tensor_names", names.toArray(new String[0]));
            }
        }
    }

    private static void putState(WritableGroup g, TrainingState s) {
        g.putAttribute("step", s.step());
        for (Map.Entry<String, Double> e : s.lrSchedule().entrySet()) {
            g.putAttribute("lr." + e.getKey(), e.getValue());
        }
        for (Map.Entry<String, long[]> e : s.rngStates().entrySet()) {
            g.putAttribute("rng." + e.getKey(), e.getValue().clone());
        }
        if (s.dataPosition().length > 0) {
            g.putAttribute("data_position", s.dataPosition());
        }
        g.putAttribute("data_position_text", s.dataPositionText());
        for (Map.Entry<String, String> e : s.model().entrySet()) {
            g.putAttribute("model." + e.getKey(), e.getValue());
        }
        g.putDataset("config", s.config());
        g.putDataset("schedule", s.schedule());
    }

    private static void putTensor(WritableGroup tensors, TensorEntry t, long splitBytes) {
        int[] shape = t.shape();
        WritableGroup g = tensors.putGroup(t.name());
        g.putAttribute("rank", shape.length);
        if (shape.length > 0) {
            g.putAttribute("shape", toLongs(shape));
        }
        g.putAttribute("arrays", String.join(",", t.arrayNames()));
        long bytes = (long) t.size() * Float.BYTES;
        for (String a : t.arrayNames()) {
            FloatSlice s = t.array(a);
            long crc = Checksums.of(s);
            WritableNode node;
            if (shape.length > 0 && bytes > splitBytes) {
                node = putSplit(g, a, s, shape, splitBytes);
            } else {
                node = g.putDataset(a, shaped(s, shape, 0, shape.length == 0 ? 1 : shape[0]));
            }
            node.putAttribute("crc32", crc);
        }
    }

    /** Consecutive slices along axis 0, each as many whole rows as fit in {@code splitBytes} (at least one). */
    private static WritableGroup putSplit(WritableGroup parent, String name, FloatSlice s, int[] shape,
                                          long splitBytes) {
        long rowBytes = TensorEntry.elements(shape) / shape[0] * Float.BYTES;
        int rowsPerPart = (int) Math.max(1, Math.min(shape[0], splitBytes / rowBytes));
        int parts = (shape[0] + rowsPerPart - 1) / rowsPerPart;
        WritableGroup g = parent.putGroup(name);
        long[] rows = new long[parts];
        for (int p = 0; p < parts; p++) {
            int from = p * rowsPerPart;
            int count = Math.min(rowsPerPart, shape[0] - from);
            rows[p] = count;
            g.putDataset(partName(p), shaped(s, shape, from, count));
        }
        g.putAttribute("parts", parts);
        g.putAttribute("rows", rows);
        return g;
    }

    static String partName(int part) {
        return String.format(java.util.Locale.ROOT, "part-%03d", part);
    }

    /** Rows [from, from + count) of axis 0 as a Java array of the tensor's rank (rank 0: float[1]). */
    private static Object shaped(FloatSlice s, int[] shape, int from, int count) {
        if (shape.length <= 1) {
            if (from == 0 && count == s.array().length && s.offset() == 0) {
                return s.array();
            }
            float[] out = new float[count];
            System.arraycopy(s.array(), s.offset() + from, out, 0, count);
            return out;
        }
        int[] dims = shape.clone();
        dims[0] = count;
        int rowLen = (int) (TensorEntry.elements(shape) / shape[0]);
        Object out = Array.newInstance(float.class, dims);
        fill(out, s.array(), s.offset() + from * rowLen);
        return out;
    }

    private static int fill(Object node, float[] src, int offset) {
        if (node instanceof float[] leaf) {
            System.arraycopy(src, offset, leaf, 0, leaf.length);
            return offset + leaf.length;
        }
        for (Object child : (Object[]) node) {
            offset = fill(child, src, offset);
        }
        return offset;
    }

    private static long[] toLongs(int[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }
}
