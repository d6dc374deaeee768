package org.twobp.checkpoints;

import java.util.Arrays;
import java.util.List;

/**
 * What a checkpoint holds for one tensor, without its data: the name, the shape and the names
 * of its arrays ({@link TensorEntry#VALUE} first, then companions such as {@code adam.m}).
 */
public record TensorInfo(String name, int[] shape, List<String> arrays) {

    public TensorInfo {
        shape = shape.clone();
        arrays = List.copyOf(arrays);
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    public long elements() {
        return TensorEntry.elements(shape);
    }

    /** Bytes of all arrays together (float32). */
    public long bytes() {
        return elements() * Float.BYTES * arrays.size();
    }

    public static String shapeText(int[] shape) {
        return Arrays.toString(shape).replace(" ", "");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && t.name.equals(name) && Arrays.equals(t.shape, shape)
                && t.arrays.equals(arrays);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + shapeText(shape) + arrays;
    }
}
