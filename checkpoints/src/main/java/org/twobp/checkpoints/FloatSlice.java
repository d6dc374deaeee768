package org.twobp.checkpoints;

import java.util.Arrays;

/**
 * {@code length} floats of {@code array} starting at {@code offset}: a tensor inside a larger
 * block (the engine keeps all parameters of a stage, and each optimizer moment, in one block).
 * A checkpoint copies from the slice while saving; it never keeps it.
 */
public record FloatSlice(float[] array, int offset, int length) {

    public FloatSlice {
        if (array == null) {
            throw new CheckpointException("a tensor slice needs an array, got null");
        }
        if (offset < 0 || length < 0 || (long) offset + length > array.length) {
            throw new CheckpointException("slice [" + offset + ", " + ((long) offset + length)
                    + ") lies outside its array of " + array.length + " floats; check the tensor's offset and shape");
        }
    }

    /** The whole array. */
    public static FloatSlice of(float[] array) {
        return new FloatSlice(array, 0, array == null ? 0 : array.length);
    }

    public float get(int i) {
        return array[offset + i];
    }

    /** A copy holding exactly the slice. */
    public float[] toArray() {
        return Arrays.copyOfRange(array, offset, offset + length);
    }

    /** Copies the slice into {@code dst} at {@code dstOffset}, e.g. back into the engine's block. */
    public void copyTo(float[] dst, int dstOffset) {
        System.arraycopy(array, offset, dst, dstOffset, length);
    }

    /** Equal element bits (NaN payloads included), which is what "bit for bit" means here. */
    public boolean sameBits(FloatSlice other) {
        if (other.length != length) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            if (Float.floatToRawIntBits(get(i)) != Float.floatToRawIntBits(other.get(i))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "FloatSlice[" + length + " floats at " + offset + "]";
    }
}
