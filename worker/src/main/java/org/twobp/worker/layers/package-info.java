/**
 * One class per layer, each with {@code forward}, {@code backwardInput} (p1) and
 * {@code backwardWeight} (p2 over one or several micro-batches, one GEMM per weight matrix),
 * and a {@code Context} naming what p1 and p2 need. {@link org.twobp.worker.layers.ContextMemory}
 * groups a micro-batch's buffers by lifetime (until p1, until p2): the stash of 2BP.
 * See {@link org.twobp.worker.layers.Layer} for the rules every layer follows.
 */
package org.twobp.worker.layers;
