/**
 * Tensors and memory: {@link org.twobp.worker.tensor.Tensor} (a shape and an offset into a
 * backend's storage), {@link org.twobp.worker.tensor.ParameterSet} (parameters, gradients and
 * optimizer state in one contiguous block per role, with named views), and
 * {@link org.twobp.worker.tensor.MemoryTracker} (current and peak bytes per
 * {@link org.twobp.worker.tensor.MemoryCategory}: parameters, gradients, optimizer state,
 * activations, stash kept for p2, communication buffers, workspace).
 */
package org.twobp.worker.tensor;
