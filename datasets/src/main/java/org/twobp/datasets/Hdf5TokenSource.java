package org.twobp.datasets;

import io.jhdf.HdfFile;
import io.jhdf.api.Attribute;
import io.jhdf.api.Dataset;
import io.jhdf.api.Node;
import io.jhdf.exceptions.HdfException;
import io.jhdf.object.datatype.DataType;
import io.jhdf.object.datatype.FixedPoint;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Token ids in an HDF5 dataset of any integer type (signed or unsigned, 8 to 64 bits), read with
 * jhdf. A dataset of up to {@code fullLoadLimit} elements is read into memory once (any rank,
 * flattened row-major); a larger one must be 1-D and is read one window at a time through
 * jhdf's slicing, so files larger than memory work.
 *
 * <p>The vocabulary size may be stored with the data as an integer attribute {@code vocab_size}
 * on the dataset or on the root group.
 */
final class Hdf5TokenSource implements TokenSource {

    /** Datasets up to this many elements are loaded whole (at most 256 MiB as int). */
    static final long FULL_LOAD_LIMIT = 64L << 20;

    private final String name;
    private final String datasetPath;
    private final HdfFile file;
    private final Dataset dataset;
    private final long length;
    private final String typeName;
    private final Object loaded;
    private final Integer declaredVocab;

    static Hdf5TokenSource open(Path path, String name, String datasetPath, long fullLoadLimit) {
        HdfFile file;
        try {
            file = new HdfFile(path);
        } catch (RuntimeException e) {
            throw new DatasetException("cannot open " + name + " as HDF5 (" + e.getMessage() + "); check that the"
                    + " data spec points at an HDF5 file (h5dump -H " + name + " shows its contents)", e);
        }
        try {
            return new Hdf5TokenSource(name, datasetPath, file, fullLoadLimit);
        } catch (DatasetException e) {
            file.close();
            throw e;
        } catch (RuntimeException e) {
            file.close();
            throw new DatasetException("cannot read dataset '" + datasetPath + "' of HDF5 file " + name + " ("
                    + e.getMessage() + "); the file may be damaged or use a feature jhdf cannot read: check it with"
                    + " h5dump -H " + name, e);
        }
    }

    private Hdf5TokenSource(String name, String datasetPath, HdfFile file, long fullLoadLimit) {
        this.name = name;
        this.datasetPath = datasetPath;
        this.file = file;
        this.dataset = findDataset(file, name, datasetPath);
        DataType type = dataset.getDataType();
        if (!(type instanceof FixedPoint fixed) || dataset.isCompound() || dataset.isVariableLength()) {
            throw new DatasetException("HDF5 dataset '" + datasetPath + "' in " + name + " holds "
                    + dataset.getJavaType().getSimpleName() + " values, not integer token ids; store the ids as"
                    + " uint16, uint32 or int32/int64 (e.g. h5py: f.create_dataset('tokens', data=ids.astype('uint16')))");
        }
        this.typeName = (fixed.isSigned() ? "int" : "uint") + (8 * fixed.getSize());
        if (dataset.isScalar() || dataset.isEmpty() || dataset.getSize() == 0) {
            throw new DatasetException("HDF5 dataset '" + datasetPath + "' in " + name + " is "
                    + (dataset.isScalar() ? "a scalar" : "empty") + "; it must hold a 1-D array of token ids");
        }
        this.length = dataset.getSize();
        long[] dims = dataset.getDimensionsAsLong();
        if (length <= fullLoadLimit) {
            this.loaded = dataset.getDataFlat();
        } else if (dims.length == 1) {
            this.loaded = null;
        } else {
            throw new DatasetException("HDF5 dataset '" + datasetPath + "' in " + name + " has shape "
                    + java.util.Arrays.toString(dims) + " and " + length + " elements, too many to load at once;"
                    + " store large token sets as a 1-D dataset so windows can be read as slices");
        }
        this.declaredVocab = vocabAttribute(dataset) != null ? vocabAttribute(dataset) : vocabAttribute(file);
    }

    private static Dataset findDataset(HdfFile file, String name, String datasetPath) {
        Node node;
        try {
            node = file.getByPath(datasetPath);
        } catch (HdfException e) {
            node = null;
        }
        if (node instanceof Dataset d) {
            return d;
        }
        List<String> found = new ArrayList<>();
        for (Node child : file) {
            if (child instanceof Dataset) {
                found.add(child.getName());
            }
        }
        found.sort(null);
        throw new DatasetException("HDF5 file " + name + " has no dataset '" + datasetPath + "'"
                + (node != null ? " ('" + datasetPath + "' is a group)" : "")
                + "; its top-level datasets are " + (found.isEmpty() ? "(none)" : String.join(", ", found))
                + "; name the one holding the token ids with ?dataset=<path> in the data spec");
    }

    private static Integer vocabAttribute(Node node) {
        Attribute a = node.getAttribute("vocab_size");
        if (a == null) {
            return null;
        }
        Object v = a.getData();
        if (v instanceof Number n && n.longValue() > 0 && n.longValue() <= Integer.MAX_VALUE) {
            return n.intValue();
        }
        return null;
    }

    /** The vocabulary size stored with the data (attribute vocab_size), or null. */
    Integer declaredVocab() {
        return declaredVocab;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public void read(long start, int count, long[] dst) {
        if (start < 0 || count < 0 || start + count > length) {
            throw new IndexOutOfBoundsException("tokens [" + start + ", " + (start + count) + ") of " + length);
        }
        Object values;
        int from;
        if (loaded != null) {
            values = loaded;
            from = (int) start;
        } else {
            try {
                values = dataset.getData(new long[] {start}, new int[] {count});
            } catch (HdfException e) {
                throw new DatasetException("cannot read tokens [" + start + ", " + (start + count) + ") of HDF5 dataset '"
                        + datasetPath + "' in " + name + ": " + e.getMessage(), e);
            }
            from = 0;
        }
        copy(values, from, count, dst);
    }

    private static void copy(Object values, int from, int count, long[] dst) {
        if (values instanceof byte[] a) {
            for (int i = 0; i < count; i++) {
                dst[i] = a[from + i];
            }
        } else if (values instanceof short[] a) {
            for (int i = 0; i < count; i++) {
                dst[i] = a[from + i];
            }
        } else if (values instanceof int[] a) {
            for (int i = 0; i < count; i++) {
                dst[i] = a[from + i];
            }
        } else if (values instanceof long[] a) {
            System.arraycopy(a, from, dst, 0, count);
        } else if (values instanceof BigInteger[] a) {
            // uint64: a value beyond the long range is far beyond any vocabulary; keep it out of range.
            for (int i = 0; i < count; i++) {
                dst[i] = a[from + i].bitLength() < 64 ? a[from + i].longValue() : Long.MAX_VALUE;
            }
        } else {
            throw new DatasetException("unexpected HDF5 integer array type " + values.getClass().getSimpleName());
        }
    }

    @Override
    public String locate(long index) {
        return "element " + index + " of HDF5 dataset '" + datasetPath + "' in " + name;
    }

    @Override
    public String describe() {
        return name + " dataset '" + datasetPath + "': " + String.format("%,d", length) + " " + typeName + " tokens"
                + (loaded != null ? " (in memory)" : " (read per window)");
    }

    @Override
    public String identity() {
        return "hdf5:" + typeName + ":" + length;
    }

    @Override
    public void close() {
        file.close();
    }
}
