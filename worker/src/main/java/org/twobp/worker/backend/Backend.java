package org.twobp.worker.backend;

import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.MemoryTracker;
import org.twobp.worker.tensor.Tensor;

/**
 * Everything a layer may do to memory: allocation with accounting, float32 math and
 * host transfers. Layers see only this interface, never a device API, so another backend
 * (CUDA) implements the same operations and the layers run unchanged.
 *
 * <p>Conventions. Tensors are dense and row-major; "rows" is the product of all dimensions but
 * the last. Legend for the shapes below: N rows (B*T tokens), C channels, V vocabulary, F hidden
 * width of an MLP, T sequence length. Outputs are assigned unless the method says it
 * accumulates ({@code +=}); weight gradients accumulate, input gradients are assigned. Output
 * tensors must not overlap inputs unless the method says "in place". Token ids and targets are
 * host arrays: they come from the data loader on the host and are small. Convolutional layers
 * use NCHW tensors [B, C, H, W] (see {@link ConvShape}).
 */
public interface Backend extends AutoCloseable {

    /** Short name, e.g. {@code cpu}. */
    String name();

    /** One line: the implementation, GEMM library and thread count. */
    String describe();

    // ---------------------------------------------------------------- memory

    /** Allocation with undefined contents (like {@code cudaMalloc}); counted under {@code category}. */
    Tensor allocate(MemoryCategory category, int... shape);

    /** Allocation filled with zeros. */
    default Tensor allocateZeros(MemoryCategory category, int... shape) {
        Tensor t = allocate(category, shape);
        fill(t, 0f);
        return t;
    }

    /** Returns a tensor made by {@link #allocate}; using it afterwards fails. */
    void free(Tensor t);

    /** Counts an allocated tensor under another category from now on (e.g. activation to stash). */
    void recategorize(Tensor t, MemoryCategory category);

    /** Current and peak bytes per category. */
    MemoryTracker memory();

    /** Time and FLOPs per kind of operation. */
    OpStats stats();

    void copyFromHost(float[] src, int srcOffset, Tensor dst);

    void copyToHost(Tensor src, float[] dst, int dstOffset);

    /**
     * A direct buffer for messages between ranks (native byte order). A GPU backend returns
     * page-locked memory, which the device copies to and from at full speed.
     */
    default java.nio.FloatBuffer allocateTransferBuffer(int floats) {
        return java.nio.ByteBuffer.allocateDirect(Math.multiplyExact(floats, Float.BYTES))
                .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** Returns a buffer of {@link #allocateTransferBuffer}. */
    default void freeTransferBuffer(java.nio.FloatBuffer buffer) {
    }

    /** Elements [0, src.size()) of {@code dst} = src; ready to send when the call returns. */
    default void copyToBuffer(Tensor src, java.nio.FloatBuffer dst) {
        float[] tmp = toHost(src);
        dst.put(0, tmp, 0, tmp.length);
    }

    /**
     * {@code dst} = elements [0, dst.size()) of {@code src}. The buffer may be reused once
     * {@link #synchronize} has returned (a GPU backend copies asynchronously).
     */
    default void copyFromBuffer(java.nio.FloatBuffer src, Tensor dst) {
        float[] tmp = new float[dst.size()];
        src.get(0, tmp, 0, tmp.length);
        copyFromHost(tmp, 0, dst);
    }

    /**
     * Waits until every operation issued so far has finished (a no-op where operations run
     * synchronously). Action timings call it, so that they measure the device's work.
     */
    default void synchronize() {
    }

    /** Bytes this backend holds for tensors, including what its allocator keeps cached. */
    default long reservedBytes() {
        return memory().currentTotal();
    }

    /** Peak of {@link #reservedBytes()} since the backend was made. */
    default long peakReservedBytes() {
        return memory().peakTotal();
    }

    default float[] toHost(Tensor src) {
        float[] out = new float[src.size()];
        copyToHost(src, out, 0);
        return out;
    }

    // ---------------------------------------------------------------- GEMM

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C} on row-major matrices inside tensors:
     * op(A) is m x k, op(B) is k x n, C is m x n; offsets are in elements from each tensor's
     * start, {@code ld*} are row strides. {@code beta = 0} ignores what C held.
     */
    default void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      Tensor a, int offA, int lda, Tensor b, int offB, int ldb,
                      float beta, Tensor c, int offC, int ldc) {
        gemmStridedBatched(transA, transB, m, n, k, alpha, a, offA, lda, 0, b, offB, ldb, 0, beta, c, offC, ldc, 0, 1);
    }

    /**
     * {@code batch} GEMMs as in {@link #gemm}; product i uses A at {@code offA + i*strideA}, B at
     * {@code offB + i*strideB}, C at {@code offC + i*strideC}. A stride of 0 reuses one matrix
     * for every product (grouped-query attention shares a key/value head this way).
     */
    void gemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, float alpha,
                            Tensor a, int offA, int lda, int strideA,
                            Tensor b, int offB, int ldb, int strideB,
                            float beta, Tensor c, int offC, int ldc, int strideC, int batch);

    /**
     * {@code c = op(a) * op(b) + beta * c} for whole tensors seen as matrices
     * ({@link Tensor#rows()} x {@link Tensor#cols()}).
     */
    default void matmul(Tensor a, boolean transA, Tensor b, boolean transB, float beta, Tensor c) {
        int m = transA ? a.cols() : a.rows();
        int k = transA ? a.rows() : a.cols();
        int kb = transB ? b.cols() : b.rows();
        int n = transB ? b.rows() : b.cols();
        if (k != kb || c.rows() != m || c.cols() != n) {
            throw new IllegalArgumentException("matmul shapes do not match: op(A) " + m + "x" + k + ", op(B) " + kb + "x"
                    + n + ", C " + c.rows() + "x" + c.cols());
        }
        gemm(transA, transB, m, n, k, 1f, a, 0, a.cols(), b, 0, b.cols(), beta, c, 0, c.cols());
    }

    // ---------------------------------------------------------------- elementwise

    void fill(Tensor t, float value);

    /** {@code dst = src} (same size). */
    void copy(Tensor src, Tensor dst);

    /** {@code out = a + b}; out may be a or b (in place). */
    void add(Tensor a, Tensor b, Tensor out);

    /** {@code t *= s}. */
    void scale(Tensor t, float s);

    /** Sum of squares, accumulated in double. */
    double sumOfSquares(Tensor t);

    /** {@code y[r, :] += bias} for y [N, C], bias [C]. */
    void addRowVector(Tensor y, Tensor bias);

    /** {@code dbias += sum over rows of dy}, dy [N, C], dbias [C]. */
    void sumRows(Tensor dy, Tensor dbias);

    // ---------------------------------------------------------------- norms

    /** RMSNorm over the last dimension: out = x * rstd * weight; x, out [N, C]; weight [C]; rstd [N]. */
    void rmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd);

    /** p1 of RMSNorm: dx from dout, x, weight and the saved rstd. */
    void rmsNormBackwardInput(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx);

    /** p2 of RMSNorm: {@code dweight += sum over rows of dout * x * rstd}. */
    void rmsNormBackwardWeight(Tensor dout, Tensor x, Tensor rstd, Tensor dweight);

    /** LayerNorm over the last dimension: out = (x - mean) * rstd * weight + bias; mean, rstd [N]. */
    void layerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd);

    /** p1 of LayerNorm. */
    void layerNormBackwardInput(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor dx);

    /** p2 of LayerNorm: {@code dweight += sum dout * xhat}, {@code dbias += sum dout}. */
    void layerNormBackwardWeight(Tensor dout, Tensor x, Tensor mean, Tensor rstd, Tensor dweight, Tensor dbias);

    // ---------------------------------------------------------------- convolution (NCHW)

    /**
     * 2-D convolution, {@code y = conv(x, w)} without bias (see {@link #addChannelBias}):
     * x [B, C, H, W], w [F, C, kh, kw], y [B, F, outH, outW] assigned; geometry in {@code s}.
     */
    void conv2dForward(ConvShape s, Tensor x, Tensor w, Tensor y);

    /** p1 of the convolution: {@code dx} [B, C, H, W] (assigned) from dy [B, F, outH, outW] and w. */
    void conv2dBackwardInput(ConvShape s, Tensor dy, Tensor w, Tensor dx);

    /** p2 of the convolution: {@code dw += sum over images of dy_n * col(x_n)^T}, dw [F, C, kh, kw]. */
    void conv2dBackwardWeight(ConvShape s, Tensor dy, Tensor x, Tensor dw);

    /** {@code y[n, c, :] += bias[c]}, y [batch, channels, spatial] (spatial = H*W), bias [channels]. */
    void addChannelBias(Tensor y, Tensor bias, int batch, int channels, int spatial);

    /** {@code dbias[c] += sum over n and spatial of dy[n, c, :]} (accumulates). */
    void sumChannels(Tensor dy, Tensor dbias, int batch, int channels, int spatial);

    /**
     * Batch normalisation in training mode: per channel c, mean and (biased) variance over all
     * {@code batch * spatial} values of x [batch, channels, spatial];
     * {@code out = (x - mean) * rstd * gamma + beta} with {@code rstd = 1/sqrt(var + eps)}; mean
     * and rstd [channels] are written for the backward. Running statistics for inference are out of
     * scope: every call normalises with the statistics of its own batch.
     */
    void batchNormForward(Tensor x, Tensor gamma, Tensor beta, float eps, int batch, int channels, int spatial,
                          Tensor out, Tensor mean, Tensor rstd);

    /**
     * p1 of batch norm, with the statistics' dependence on x:
     * {@code dx = rstd * gamma * (dout - mean(dout) - xhat * mean(dout * xhat))}, means per channel
     * over batch and spatial positions (computed here; p2 computes its own sums).
     */
    void batchNormBackwardInput(Tensor dout, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, int batch,
                                int channels, int spatial, Tensor dx);

    /** p2 of batch norm: {@code dgamma += sum dout * xhat}, {@code dbeta += sum dout} per channel. */
    void batchNormBackwardWeight(Tensor dout, Tensor x, Tensor mean, Tensor rstd, int batch, int channels,
                                 int spatial, Tensor dgamma, Tensor dbeta);

    // ---------------------------------------------------------------- attention pieces

    /**
     * Rotary position embedding, in place, on {@code heads} heads of width {@code headDim} that
     * start at column {@code col} of rows of length {@code ld}; row r holds position
     * {@code r % seqLen}. Pairs (2i, 2i+1) of a head rotate by angle pos * theta^(-2i/headDim);
     * {@code cosSin} [seqLen, headDim/2, 2] holds the cosines and sines. {@code inverse} rotates
     * back (the backward of the forward rotation).
     */
    void rope(Tensor x, int col, int ld, int rows, int seqLen, int heads, int headDim, Tensor cosSin,
              boolean inverse);

    /**
     * In place, on {@code matrices} score matrices [T, T]: {@code p = softmax(scale * s)} over
     * the columns j <= i of row i; columns j > i become 0 (causal mask).
     */
    void causalSoftmaxForward(Tensor scores, int matrices, int t, float scale);

    /**
     * In place: turns dprobs into d(scores) = scale * p * (dp - sum_j p*dp), zero above the
     * diagonal.
     */
    void causalSoftmaxBackward(Tensor probs, Tensor dprobs, int matrices, int t, float scale);

    // ---------------------------------------------------------------- activations

    /** gateUp [N, 2F] holds gate then up; out [N, F] = silu(gate) * up. */
    void swigluForward(Tensor gateUp, Tensor out);

    /** p1 of SwiGLU: dGateUp [N, 2F] from dout [N, F]. */
    void swigluBackward(Tensor dout, Tensor gateUp, Tensor dGateUp);

    /** GELU, tanh approximation (as in GPT-2). */
    void geluForward(Tensor x, Tensor out);

    void geluBackward(Tensor dout, Tensor x, Tensor dx);

    // ---------------------------------------------------------------- embedding and loss

    /** out [N, C] = rows {@code tokens[off .. off+N)} of table [V, C]. */
    void embeddingForward(Tensor table, int[] tokens, int offset, Tensor out);

    /** p2 of the embedding: {@code dtable[tokens[off+r], :] += dout[r, :]} (scatter-add). */
    void embeddingBackward(Tensor dout, int[] tokens, int offset, Tensor dtable);

    /**
     * Softmax cross-entropy over logits [N, V], in place: logits become probabilities.
     * losses[r] = -log p[r, target] and correct[r] = 1 when the arg-max is the target; both are 0
     * where {@code targets[off+r] < 0} (not scored).
     */
    void crossEntropyForward(Tensor logits, int[] targets, int offset, Tensor losses, Tensor correct);

    /** p1 of the loss, in place: probs [N, V] become {@code scale * (p - onehot(target))}, 0 for rows not scored. */
    void crossEntropyBackward(Tensor probs, int[] targets, int offset, float scale);

    // ---------------------------------------------------------------- optimizer

    /**
     * One AdamW update over flat slices of equal size: {@code g' = g * gradScale};
     * {@code m, v} moments; {@code p -= lr * (mhat / (sqrt(vhat) + eps) + weightDecay * p)} with
     * bias corrections {@code 1 - beta^step}.
     */
    void adamw(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
               float weightDecay, float gradScale, int step);

    /**
     * SGD with momentum: {@code g' = g * gradScale + weightDecay * p}; {@code buf = momentum * buf + g'};
     * {@code p -= lr * (nesterov ? g' + momentum * buf : buf)}.
     */
    void sgd(Tensor p, Tensor g, Tensor buf, float lr, float momentum, float weightDecay, float gradScale,
             boolean nesterov);

    @Override
    void close();
}
