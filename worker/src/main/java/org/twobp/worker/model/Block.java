package org.twobp.worker.model;

import java.util.List;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.Tensor;

/**
 * The unit a partitioner cuts the model at: the embedding, each transformer block, the head
 * (final norm, LM head and loss). Every block maps [N, C] to [N, C], except that the
 * embedding reads token ids instead of an input and the head ends in the loss instead of an
 * output.
 */
public interface Block {

    /** e.g. {@code embedding}, {@code blocks.3}, {@code head}. */
    String name();

    List<Parameter> parameters();

    /** Estimated FLOPs and memory for one micro-batch of {@code batch} sequences of {@code seqLen}. */
    BlockCost cost(int batch, int seqLen);

    /** A context for one in-flight micro-batch; reusable once everything it holds is released. */
    BlockContext newContext(Backend backend);

    /**
     * Forward. {@code x} [N, C] is owned by {@code ctx} (null for the embedding); {@code y}
     * [N, C] is written (assigned), and is null for the head.
     */
    void forward(MicroBatch mb, Tensor x, Tensor y, BlockContext ctx);

    /**
     * p1: {@code dx} (assigned; null for the embedding) from {@code dy} (owned by ctx; null for
     * the head, which starts from the loss). With {@code thenP2} every layer's p2 runs right
     * after its p1: the fused backward without 2BP.
     */
    void backwardInput(Tensor dy, Tensor dx, boolean thenP2, BlockContext ctx);

    /** p2 over the given micro-batches, one GEMM per weight matrix. */
    void backwardWeight(List<BlockContext> ctxs);
}
