package org.twobp.checkpoints;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One named tensor of a checkpoint: its shape, its value and any number of companion arrays of
 * the same shape (optimizer moments such as {@code adam.m}, {@code adam.v}). Tensors are keyed
 * by name, never by stage, so a checkpoint written by P stages loads into any other layout.
 *
 * <pre>
 *   TensorEntry.of("blocks.3.attn.wq", new int[] {768, 768}, new FloatSlice(params, off, 768 * 768))
 *              .with("adam.m", new FloatSlice(m, off, 768 * 768))
 *              .with("adam.v", new FloatSlice(v, off, 768 * 768));
 * </pre>
 */
public final class TensorEntry {

    /** The name of the main array: the tensor's value (the parameter itself). */
    public static final String VALUE = "value";

    private final String name;
    private final int[] shape;
    private final Map<String, FloatSlice> arrays;

    private TensorEntry(String name, int[] shape, Map<String, FloatSlice> arrays) {
        this.name = name;
        this.shape = shape;
        this.arrays = arrays;
    }

    /** A tensor with its value; a rank-0 (scalar) tensor has the shape {@code new int[0]}. */
    public static TensorEntry of(String name, int[] shape, FloatSlice value) {
        Names.check("tensor", name);
        if (shape == null) {
            throw new CheckpointException("tensor " + name + " has no shape; pass new int[0] for a scalar");
        }
        long n = elements(shape);
        if (n == 0) {
            throw new CheckpointException("tensor " + name + " has shape " + TensorInfo.shapeText(shape)
                    + " with no elements; HDF5 files written by jhdf cannot hold empty arrays, leave it out");
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new CheckpointException("tensor " + name + " has " + n + " elements, more than one Java array holds;"
                    + " store it as several tensors");
        }
        TensorEntry t = new TensorEntry(name, shape.clone(), new LinkedHashMap<>());
        return t.with(VALUE, value);
    }

    /** A copy with one more array (a companion such as {@code adam.m}) of the same shape. */
    public TensorEntry with(String arrayName, FloatSlice data) {
        Names.check("array", arrayName);
        if (arrays.containsKey(arrayName)) {
            throw new CheckpointException("tensor " + name + " already has an array named " + arrayName);
        }
        if (data == null) {
            throw new CheckpointException("array " + arrayName + " of tensor " + name + " is null");
        }
        if (data.length() != elements(shape)) {
            throw new CheckpointException("array " + arrayName + " of tensor " + name + " holds " + data.length()
                    + " floats but the shape " + TensorInfo.shapeText(shape) + " needs " + elements(shape));
        }
        Map<String, FloatSlice> copy = new LinkedHashMap<>(arrays);
        copy.put(arrayName, data);
        return new TensorEntry(name, shape, copy);
    }

    public String name() {
        return name;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int size() {
        return (int) elements(shape);
    }

    public FloatSlice value() {
        return arrays.get(VALUE);
    }

    /** The array named {@code arrayName}; fails naming the arrays there are. */
    public FloatSlice array(String arrayName) {
        FloatSlice s = arrays.get(arrayName);
        if (s == null) {
            throw new CheckpointException("tensor " + name + " has no array " + arrayName + "; it has " + arrayNames());
        }
        return s;
    }

    public boolean has(String arrayName) {
        return arrays.containsKey(arrayName);
    }

    /** Array names, {@link #VALUE} first, in the order they were added. */
    public List<String> arrayNames() {
        return Collections.unmodifiableList(new ArrayList<>(arrays.keySet()));
    }

    public TensorInfo info() {
        return new TensorInfo(name, shape, arrayNames());
    }

    /** Same name, shape, array names and element bits. */
    public boolean sameBits(TensorEntry other) {
        if (!info().equals(other.info())) {
            return false;
        }
        for (String a : arrays.keySet()) {
            if (!arrays.get(a).sameBits(other.arrays.get(a))) {
                return false;
            }
        }
        return true;
    }

    static long elements(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new CheckpointException("negative dimension in shape " + TensorInfo.shapeText(shape));
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new CheckpointException("shape " + TensorInfo.shapeText(shape) + " has too many elements");
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return info().toString();
    }
}
