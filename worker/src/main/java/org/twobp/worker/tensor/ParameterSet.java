package org.twobp.worker.tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters of a model (or of one pipeline stage of it), laid out back to back: one
 * parameter block, one gradient block of the same layout, and (in the optimizer) moment blocks
 * of the same layout. Zeroing, clipping, stepping, checkpointing and all-reducing are then one
 * call each over a flat block, while {@link Parameter} gives the named views.
 *
 * <p>Layers declare their parameters while being constructed; {@link #bind} then attaches the
 * memory. A set that is never bound only describes shapes (used to cost a model without
 * allocating it).
 */
public final class ParameterSet {

    private final Map<String, Parameter> byName = new LinkedHashMap<>();
    private final List<Parameter> list = new ArrayList<>();
    private int size;
    private Tensor params;
    private Tensor grads;

    /** Declares a parameter; names must be unique. */
    public Parameter declare(String name, Parameter.Init init, boolean decay, int... shape) {
        if (params != null) {
            throw new IllegalStateException("cannot declare " + name + " after the parameter set was bound");
        }
        if (byName.containsKey(name)) {
            throw new IllegalArgumentException("parameter " + name + " is declared twice");
        }
        long end = (long) size + Tensor.sizeOf(shape);
        if (end > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("parameters of one stage exceed 2^31-1 elements at " + name
                    + "; cut the model into more stages");
        }
        Parameter p = new Parameter(name, shape, size, init, decay);
        size = (int) end;
        byName.put(name, p);
        list.add(p);
        return p;
    }

    /** Total number of elements. */
    public int size() {
        return size;
    }

    public List<Parameter> list() {
        return Collections.unmodifiableList(list);
    }

    public Parameter get(String name) {
        Parameter p = byName.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no parameter named " + name + "; this set holds " + byName.keySet());
        }
        return p;
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** Attaches the contiguous parameter and gradient blocks, each of {@link #size()} elements. */
    public void bind(Tensor params, Tensor grads) {
        if (params.size() != size || grads.size() != size) {
            throw new IllegalArgumentException("parameter and gradient blocks must hold " + size + " elements, got "
                    + params.size() + " and " + grads.size());
        }
        this.params = params;
        this.grads = grads;
        for (Parameter p : list) {
            p.bind(params, grads);
        }
    }

    public boolean isBound() {
        return params != null;
    }

    /** The parameter block. */
    public Tensor params() {
        checkBound();
        return params;
    }

    /** The gradient block. */
    public Tensor grads() {
        checkBound();
        return grads;
    }

    /**
     * The parameter values of elements [offset, offset + size(shape)) seen with {@code shape}:
     * parameters declared back to back form one matrix this way (e.g. wq, wk, wv stacked into
     * the fused QKV projection, computed by one GEMM).
     */
    public Tensor valueSpan(int offset, int... shape) {
        return params().view(offset, shape);
    }

    /** The gradients of the same span as {@link #valueSpan}. */
    public Tensor gradSpan(int offset, int... shape) {
        return grads().view(offset, shape);
    }

    private void checkBound() {
        if (params == null) {
            throw new IllegalStateException("the parameter set has no memory yet: bind it first");
        }
    }
}
