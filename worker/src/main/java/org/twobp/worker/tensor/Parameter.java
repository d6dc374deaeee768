package org.twobp.worker.tensor;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One named parameter, e.g. {@code blocks.3.attn.wq} of shape [out, in]: a slice of its
 * {@link ParameterSet}'s contiguous parameter block, with the gradient at the same offset of
 * the gradient block (and optimizer moments at the same offset of theirs).
 */
public final class Parameter {

    /** How a parameter is initialised. Values depend only on the model seed and the name. */
    public record Init(Kind kind, double std) {
        public enum Kind { NORMAL, ONES, ZEROS }

        public static Init normal(double std) {
            return new Init(Kind.NORMAL, std);
        }

        public static Init ones() {
            return new Init(Kind.ONES, 0);
        }

        public static Init zeros() {
            return new Init(Kind.ZEROS, 0);
        }
    }

    private final String name;
    private final int[] shape;
    private final int size;
    private final int offset;
    private final Init init;
    private final boolean decay;
    private Tensor value;
    private Tensor grad;

    Parameter(String name, int[] shape, int offset, Init init, boolean decay) {
        this.name = name;
        this.shape = shape.clone();
        this.size = Tensor.sizeOf(shape);
        this.offset = offset;
        this.init = init;
        this.decay = decay;
    }

    public String name() {
        return name;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int size() {
        return size;
    }

    /** Offset in the set's blocks (parameters, gradients, optimizer moments alike). */
    public int offset() {
        return offset;
    }

    public Init init() {
        return init;
    }

    /** Whether weight decay applies (matrices yes; norm gains and biases no). */
    public boolean decay() {
        return decay;
    }

    /** The parameter values; fails before the set is bound to memory. */
    public Tensor value() {
        if (value == null) {
            throw new IllegalStateException("parameter " + name + " has no memory yet: bind its ParameterSet first");
        }
        return value;
    }

    /** The accumulated gradient (same shape); p2 adds to it, the optimizer reads it. */
    public Tensor grad() {
        if (grad == null) {
            throw new IllegalStateException("parameter " + name + " has no memory yet: bind its ParameterSet first");
        }
        return grad;
    }

    /** The slice of any block with the parameter layout (for example an optimizer moment). */
    public Tensor viewOf(Tensor block) {
        return block.view(offset, shape);
    }

    void bind(Tensor params, Tensor grads) {
        value = params.view(offset, shape);
        grad = grads.view(offset, shape);
    }

    /**
     * The initial values, drawn from a generator seeded by the model seed and this name only,
     * so that any cut of the model into stages initialises every parameter the same way.
     */
    public float[] initialValues(long modelSeed) {
        float[] v = new float[size];
        switch (init.kind()) {
            case ONES -> Arrays.fill(v, 1f);
            case ZEROS -> { }
            case NORMAL -> {
                SplittableRandom rng = new SplittableRandom(mix(modelSeed, name));
                for (int i = 0; i < size; i++) {
                    v[i] = (float) (rng.nextGaussian() * init.std());
                }
            }
        }
        return v;
    }

    static long mix(long seed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        long z = seed + 0x9e3779b97f4a7c15L * (h | 1);
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
