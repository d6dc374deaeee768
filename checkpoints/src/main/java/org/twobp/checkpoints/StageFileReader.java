package org.twobp.checkpoints;

import io.jhdf.HdfFile;
import io.jhdf.api.Attribute;
import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.Node;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Reads one stage file written by {@link StageFileWriter}. Every jhdf failure (a truncated or
 * damaged file) becomes a {@link CheckpointException} naming the file and what was being read.
 */
final class StageFileReader implements AutoCloseable {

    private final Path file;
    private final HdfFile hdf;

    private StageFileReader(Path file, HdfFile hdf) {
        this.file = file;
        this.hdf = hdf;
    }

    static StageFileReader open(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException("checkpoint file " + file + " does not exist");
        }
        HdfFile hdf;
        try {
            hdf = new HdfFile(file);
        } catch (RuntimeException e) {
            throw damaged(file, "opening it", e);
        }
        StageFileReader r = new StageFileReader(file, hdf);
        try {
            Object format = r.attr(hdf, "format");
            if (!StageFileWriter.FORMAT.equals(format)) {
                throw new CheckpointException(file + " is an HDF5 file but not a twobp checkpoint (format attribute: "
                        + format + ")");
            }
            int version = r.intAttr(hdf, "format_version");
            if (version > StageFileWriter.FORMAT_VERSION) {
                throw new CheckpointException(file + " has checkpoint format version " + version
                        + ", newer than this build reads (" + StageFileWriter.FORMAT_VERSION + "); use a newer twobp");
            }
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        return r;
    }

    Path file() {
        return file;
    }

    long step() {
        return longAttr(hdf, "step");
    }

    int stage() {
        return intAttr(hdf, "stage");
    }

    int stages() {
        return intAttr(hdf, "stages");
    }

    List<String> tensorNames() {
        if (intAttr(hdf, "tensors") == 0) {
            return List.of();
        }
        try {
            return List.of((String[]) hdf.getDatasetByPath("tensor_names").getData());
        } catch (RuntimeException e) {
            throw damaged(file, "its tensor list", e);
        }
    }

    TensorInfo info(String name) {
        Group g = tensorGroup(name);
        try {
            int rank = intAttr(g, "rank");
            int[] shape = new int[rank];
            if (rank > 0) {
                long[] s = (long[]) attr(g, "shape");
                for (int i = 0; i < rank; i++) {
                    shape[i] = Math.toIntExact(s[i]);
                }
            }
            String arrays = (String) attr(g, "arrays");
            return new TensorInfo(name, shape, Arrays.asList(arrays.split(",")));
        } catch (CheckpointException e) {
            throw e;
        } catch (RuntimeException e) {
            throw damaged(file, "the description of tensor " + name, e);
        }
    }

    /** The checksum stored with array {@code array} of tensor {@code name}. */
    long storedCrc(String name, String array) {
        return longAttr(arrayNode(name, array), "crc32");
    }

    /** The values of one array, parts joined, in row-major order. */
    float[] readArray(String name, String array) {
        TensorInfo info = info(name);
        int size = (int) info.elements();
        Node node = arrayNode(name, array);
        try {
            if (!node.isGroup()) {
                return checkLength(name, array, floats(node), size);
            }
            Group g = (Group) node;
            int parts = intAttr(g, "parts");
            float[] out = new float[size];
            int at = 0;
            for (int p = 0; p < parts; p++) {
                float[] part = floats(g.getChild(StageFileWriter.partName(p)));
                if (at + part.length > size) {
                    break;
                }
                System.arraycopy(part, 0, out, at, part.length);
                at += part.length;
            }
            return checkLength(name, array, at == size ? out : Arrays.copyOf(out, at), size);
        } catch (CheckpointException e) {
            throw e;
        } catch (RuntimeException e) {
            throw damaged(file, "tensor " + name + " array " + array, e);
        }
    }

    /** Reads one tensor with all its arrays, checking each against its stored checksum. */
    TensorEntry readTensor(String name) {
        TensorInfo info = info(name);
        TensorEntry t = null;
        for (String a : info.arrays()) {
            float[] data = readArray(name, a);
            long crc = Checksums.of(data);
            long stored = storedCrc(name, a);
            if (crc != stored) {
                throw new CheckpointException("tensor " + name + " array " + a + " in " + file
                        + " does not match its checksum (stored " + Checksums.hex(stored) + ", computed "
                        + Checksums.hex(crc) + "): the file is damaged; resume from an earlier checkpoint");
            }
            FloatSlice s = FloatSlice.of(data);
            t = t == null ? TensorEntry.of(name, info.shape(), s) : t.with(a, s);
        }
        return t;
    }

    TrainingState state() {
        Group g = group("state");
        TrainingState s = TrainingState.at(longAttr(g, "step"));
        try {
            for (Map.Entry<String, Attribute> e : g.getAttributes().entrySet()) {
                String k = e.getKey();
                Object v = e.getValue().getData();
                if (k.startsWith("lr.")) {
                    s = s.withLr(k.substring(3), ((Number) v).doubleValue());
                } else if (k.startsWith("rng.")) {
                    s = s.withRng(k.substring(4), (long[]) v);
                } else if (k.startsWith("model.")) {
                    s = s.withModel(k.substring(6), (String) v);
                } else if (k.equals("data_position")) {
                    s = s.withDataPosition((long[]) v);
                } else if (k.equals("data_position_text")) {
                    s = s.withDataPositionText((String) v);
                }
            }
            return s.withConfig((String) ((Dataset) g.getChild("config")).getData()).withSchedule(
                    (String) ((Dataset) g.getChild("schedule")).getData());
        } catch (CheckpointException e) {
            throw e;
        } catch (RuntimeException e) {
            throw damaged(file, "its training state", e);
        }
    }

    @Override
    public void close() {
        try {
            hdf.close();
        } catch (RuntimeException e) {
            // closing a read-only mapping cannot lose data
        }
    }

    private float[] checkLength(String name, String array, float[] data, int size) {
        if (data.length != size) {
            throw new CheckpointException("tensor " + name + " array " + array + " in " + file + " holds "
                    + data.length + " values, its shape needs " + size + ": the file is damaged");
        }
        return data;
    }

    private float[] floats(Node node) {
        if (!(node instanceof Dataset d)) {
            throw new CheckpointException(file + ": " + (node == null ? "a missing dataset" : node.getPath())
                    + " should be a float32 dataset; the file is damaged");
        }
        Object data = d.getDataFlat();
        if (!(data instanceof float[] f)) {
            throw new CheckpointException(file + ": " + d.getPath() + " holds " + d.getJavaType()
                    + ", not float32; the file was not written by twobp");
        }
        return f;
    }

    private Group group(String path) {
        try {
            Node n = hdf.getByPath(path);
            if (n instanceof Group g) {
                return g;
            }
        } catch (RuntimeException e) {
            throw damaged(file, path, e);
        }
        throw new CheckpointException(file + " has no group " + path + "; the file is damaged");
    }

    private Group tensorGroup(String name) {
        Group tensors = group("tensors");
        Node n;
        try {
            n = tensors.getChildren().get(name);
        } catch (RuntimeException e) {
            throw damaged(file, "tensor " + name, e);
        }
        if (!(n instanceof Group g)) {
            throw new CheckpointException("tensor " + name + " is not in " + file);
        }
        return g;
    }

    private Node arrayNode(String name, String array) {
        Node n;
        try {
            n = tensorGroup(name).getChildren().get(array);
        } catch (RuntimeException e) {
            throw damaged(file, "tensor " + name + " array " + array, e);
        }
        if (n == null) {
            throw new CheckpointException("tensor " + name + " has no array " + array + " in " + file);
        }
        return n;
    }

    private Object attr(Node node, String name) {
        Attribute a;
        try {
            a = node.getAttribute(name);
            if (a != null) {
                return a.getData();
            }
        } catch (RuntimeException e) {
            throw damaged(file, "attribute " + name + " of " + node.getPath(), e);
        }
        throw new CheckpointException(file + ": " + node.getPath() + " lacks the attribute " + name
                + "; the file is damaged or was not written by twobp");
    }

    private long longAttr(Node node, String name) {
        return ((Number) attr(node, name)).longValue();
    }

    private int intAttr(Node node, String name) {
        return ((Number) attr(node, name)).intValue();
    }

    static CheckpointException damaged(Path file, String what, Throwable cause) {
        String detail = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        return new CheckpointException("cannot read " + what + " in " + file + " (" + detail
                + "): the file is truncated or damaged; run 'twobp ckpt verify' on its folder and resume from "
                + "an earlier checkpoint", cause);
    }
}
