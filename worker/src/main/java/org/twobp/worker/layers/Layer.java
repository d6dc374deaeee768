package org.twobp.worker.layers;

import java.util.List;
import org.twobp.worker.tensor.Parameter;

/**
 * A unit of the network with a hand-written forward and a backward split in two:
 * {@code backwardInput} (p1: the gradient of the input, which the previous stage waits for) and
 * {@code backwardWeight} (p2: parameter gradients, which nothing waits for).
 *
 * <p>Every layer class follows the same rules, which are what make the split safe:
 * <ul>
 *   <li>its {@code Context} holds, as named fields, exactly what p1 and p2 need for one
 *       micro-batch; the buffers come from a {@link ContextMemory} that knows which are needed
 *       until p1 and which until p2 (the stash);</li>
 *   <li>p1 assigns the input gradient and reads no parameter gradient;</li>
 *   <li>p2 accumulates ({@code +=}) parameter gradients over one or several micro-batches, and
 *       where it is a GEMM it is one GEMM over the micro-batches concatenated along the rows;</li>
 *   <li>the fused backward (no 2BP) is p1 immediately followed by p2 for the same micro-batch.</li>
 * </ul>
 * The signatures differ by layer (a norm needs its saved statistics, attention its sequence
 * length), so this interface only names what all layers share.
 */
public interface Layer {

    /** Dotted name, e.g. {@code blocks.3.attn}. */
    String name();

    /** The parameters this layer owns, in declaration order; empty for parameter-free layers. */
    List<Parameter> parameters();
}
