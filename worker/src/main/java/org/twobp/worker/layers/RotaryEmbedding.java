package org.twobp.worker.layers;

import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.Tensor;

/**
 * Rotary position embedding (RoPE), in the interleaved form of the original LLaMa code: the
 * pair (2i, 2i+1) of each head of width hd rotates by angle {@code pos * theta^(-2i/hd)}.
 * Applied in place to the query and key columns. No parameters; its backward (part of
 * attention's p1) is the rotation by the opposite angle.
 */
public final class RotaryEmbedding implements Layer {

    private final String name;
    private final int headDim;
    private final int seqLen;
    private final double theta;
    private Tensor table;
    private Backend tableBackend;

    public RotaryEmbedding(String name, int headDim, int seqLen, double theta) {
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("RoPE needs an even head width, got " + headDim);
        }
        this.name = name;
        this.headDim = headDim;
        this.seqLen = seqLen;
        this.theta = theta;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Parameter> parameters() {
        return List.of();
    }

    /** cos and sin per position and pair, [T, hd/2, 2], computed in double. */
    public static float[] cosSinTable(int seqLen, int headDim, double theta) {
        int half = headDim / 2;
        float[] t = new float[seqLen * half * 2];
        for (int pos = 0; pos < seqLen; pos++) {
            for (int i = 0; i < half; i++) {
                double freq = Math.pow(theta, -2.0 * i / headDim);
                double angle = pos * freq;
                t[(pos * half + i) * 2] = (float) Math.cos(angle);
                t[(pos * half + i) * 2 + 1] = (float) Math.sin(angle);
            }
        }
        return t;
    }

    private Tensor table(Backend be) {
        if (table == null || tableBackend != be) {
            // A constant of the model, counted with the parameters.
            table = be.allocate(MemoryCategory.PARAMETERS, seqLen, headDim / 2, 2);
            be.copyFromHost(cosSinTable(seqLen, headDim, theta), 0, table);
            tableBackend = be;
        }
        return table;
    }

    /**
     * Rotates {@code heads} heads starting at column {@code col} of the rows of {@code x} (row
     * stride {@code ld}); row r is position r % T.
     */
    public void forward(Backend be, Tensor x, int col, int ld, int rows, int t, int heads) {
        checkLength(t);
        be.rope(x, col, ld, rows, t, heads, headDim, table(be), false);
    }

    /** The gradient through the rotation: rotate the gradient back, in place. */
    public void backwardInput(Backend be, Tensor dx, int col, int ld, int rows, int t, int heads) {
        checkLength(t);
        be.rope(dx, col, ld, rows, t, heads, headDim, table(be), true);
    }

    private void checkLength(int t) {
        if (t > seqLen) {
            throw new IllegalArgumentException(name + ": sequence of " + t + " positions is longer than the "
                    + seqLen + " the model was built for");
        }
    }
}
