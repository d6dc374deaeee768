package org.twobp.worker.backend.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * The arguments of one kernel launch, in the order of the kernel's parameters. Pointers are
 * 64-bit device addresses, {@code int} and {@code float} 32-bit values, as the {@code .cu}
 * signatures declare them ({@code float*}, {@code int}, {@code float}).
 */
public final class KernelArgs {

    /** The C type of one parameter. */
    public enum Type { POINTER, INT, FLOAT }

    private final List<Type> types = new ArrayList<>();
    private final List<Number> values = new ArrayList<>();

    public static KernelArgs of() {
        return new KernelArgs();
    }

    public KernelArgs ptr(long address) {
        types.add(Type.POINTER);
        values.add(address);
        return this;
    }

    public KernelArgs i(int value) {
        types.add(Type.INT);
        values.add(value);
        return this;
    }

    public KernelArgs f(float value) {
        types.add(Type.FLOAT);
        values.add(value);
        return this;
    }

    public int count() {
        return types.size();
    }

    public Type type(int i) {
        return types.get(i);
    }

    public long pointer(int i) {
        return values.get(i).longValue();
    }

    public int intValue(int i) {
        return values.get(i).intValue();
    }

    public float floatValue(int i) {
        return values.get(i).floatValue();
    }

    /**
     * The arguments packed as C would lay them out in a struct of the parameters: each at the
     * next offset aligned to its size (8 for pointers, 4 for int and float), little-endian.
     */
    public byte[] packed() {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 * types.size() + 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < types.size(); i++) {
            switch (types.get(i)) {
                case POINTER -> {
                    b.position((b.position() + 7) & ~7);
                    b.putLong(pointer(i));
                }
                case INT -> b.putInt(intValue(i));
                case FLOAT -> b.putFloat(floatValue(i));
            }
        }
        byte[] out = new byte[b.position()];
        b.flip();
        b.get(out);
        return out;
    }
}
