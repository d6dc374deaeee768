package org.twobp.worker.layers;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * Fully connected layer, {@code y = x W^T (+ b)}.
 * Legend: x [N, in], W [out, in], b [out], y [N, out]; N = B*T rows.
 * <ul>
 *   <li>p1: {@code dx = dy W} (assigned).</li>
 *   <li>p2: {@code dW += dy^T x}, {@code db += sum over rows of dy}; for k micro-batches the
 *       stashed x and dy are concatenated along the rows, [k*N, in] and [k*N, out], and dW is ONE
 *       GEMM with k*N as its inner dimension (never a [k, in, out] temporary).</li>
 * </ul>
 * The weight may be declared as several named parameters stacked along the output dimension
 * (e.g. {@code wq}, {@code wk}, {@code wv} of attention): they are contiguous, so the layer is
 * still one matrix and one GEMM.
 */
public final class Linear implements Layer {

    /** What p1 and p2 need for one micro-batch. */
    public static final class Context {
        /** The input, read by p2 (kept by the caller until p2). */
        public Tensor x;
        /** The output-gradient, read by p2 (kept by the caller until p2). */
        public Tensor dy;
    }

    private final String name;
    private final int in;
    private final int out;
    private final ParameterSet set;
    private final List<Parameter> weights;
    private final Parameter bias;
    private final List<Parameter> all;

    /** A layer with a single weight named {@code name} ({@code name.bias} for the bias, if any). */
    public Linear(ParameterSet set, String name, int in, int out, boolean bias, double initStd) {
        this(set, name, in, new String[] {name}, new int[] {out}, bias, initStd);
    }

    /**
     * A layer whose weight is stacked from several named parameters, {@code outs[i]} rows each
     * (for example the fused query/key/value projection).
     */
    public Linear(ParameterSet set, String name, int in, String[] weightNames, int[] outs, boolean bias,
                  double initStd) {
        this.name = name;
        this.in = in;
        this.set = set;
        List<Parameter> ws = new ArrayList<>();
        int total = 0;
        for (int i = 0; i < weightNames.length; i++) {
            ws.add(set.declare(weightNames[i], Parameter.Init.normal(initStd), true, outs[i], in));
            total += outs[i];
        }
        this.out = total;
        this.weights = List.copyOf(ws);
        this.bias = bias ? set.declare(name + ".bias", Parameter.Init.zeros(), false, total) : null;
        List<Parameter> a = new ArrayList<>(ws);
        if (this.bias != null) {
            a.add(this.bias);
        }
        this.all = List.copyOf(a);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Parameter> parameters() {
        return all;
    }

    public int in() {
        return in;
    }

    public int out() {
        return out;
    }

    public boolean hasBias() {
        return bias != null;
    }

    /** The whole weight [out, in]. */
    public Tensor weight() {
        return set.valueSpan(weights.get(0).offset(), out, in);
    }

    /** The whole weight gradient [out, in]. */
    public Tensor weightGrad() {
        return set.gradSpan(weights.get(0).offset(), out, in);
    }

    /** {@code y = x W^T + b}, or {@code y += x W^T + b} with {@code accumulate} (a residual branch). */
    public void forward(Backend be, Tensor x, Tensor y, boolean accumulate, Context ctx) {
        checkRows(x, y, "forward");
        ctx.x = x;
        be.gemm(false, true, x.size() / in, out, in, 1f, x, 0, in, weight(), 0, in, accumulate ? 1f : 0f, y, 0, out);
        if (bias != null) {
            be.addRowVector(y, bias.value());
        }
    }

    /** p1: {@code dx = dy W}; records dy for p2. */
    public void backwardInput(Backend be, Tensor dy, Tensor dx, Context ctx) {
        checkRows(dx, dy, "backwardInput");
        ctx.dy = dy;
        be.gemm(false, false, dy.size() / out, in, out, 1f, dy, 0, out, weight(), 0, in, 0f, dx, 0, in);
    }

    /** p2 over one or several micro-batches: {@code dW += dy^T x} as one GEMM, {@code db += sum dy}. */
    public void backwardWeight(Backend be, List<Context> ctxs) {
        if (ctxs.isEmpty()) {
            return;
        }
        List<Tensor> xs = new ArrayList<>(ctxs.size());
        List<Tensor> dys = new ArrayList<>(ctxs.size());
        for (Context c : ctxs) {
            if (c.x == null || c.dy == null) {
                throw new IllegalStateException(name + ": p2 needs forward and p1 of every micro-batch first");
            }
            xs.add(c.x);
            dys.add(c.dy);
        }
        Tensor x = concatRows(be, xs, in);
        Tensor dy = concatRows(be, dys, out);
        int rows = x.size() / in;
        be.gemm(true, false, out, in, rows, 1f, dy, 0, out, x, 0, in, 1f, weightGrad(), 0, in);
        if (bias != null) {
            be.sumRows(dy, bias.grad());
        }
        if (ctxs.size() > 1) {
            be.free(x);
            be.free(dy);
        }
    }

    /** p2 of a single micro-batch (the fused backward). */
    public void backwardWeight(Backend be, Context ctx) {
        backwardWeight(be, List.of(ctx));
    }

    /**
     * The row-wise concatenation of {@code parts} (each [n_i, cols]); a single part is returned
     * as is, several are gathered into a workspace tensor the caller frees.
     */
    static Tensor concatRows(Backend be, List<Tensor> parts, int cols) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        int rows = 0;
        for (Tensor t : parts) {
            rows += t.size() / cols;
        }
        Tensor cat = be.allocate(MemoryCategory.WORKSPACE, rows, cols);
        int at = 0;
        for (Tensor t : parts) {
            be.copy(t, cat.view(at, t.size()));
            at += t.size();
        }
        return cat;
    }

    private void checkRows(Tensor x, Tensor y, String what) {
        if (x.size() % in != 0 || y.size() % out != 0 || x.size() / in != y.size() / out) {
            throw new IllegalArgumentException(name + "." + what + ": expected [N, " + in + "] and [N, " + out
                    + "], got " + x + " and " + y);
        }
    }
}
