package org.twobp.worker.model;

/**
 * Estimated cost of one block for one micro-batch, for partitioners and simulators.
 *
 * @param forwardFlops    floating-point operations of the GEMMs of F, at 2*m*n*k each: exactly what
 *                        the backend executes (the attention products over the full T x T square).
 *                        Norms, softmax and activations are left out: few FLOPs, though on a CPU
 *                        they take a fifth to a quarter of the time (see BenchEngine)
 * @param p1Flops         the same for backward-input (p1)
 * @param p2Flops         the same for backward-weight (p2)
 * @param parameters      number of parameters
 * @param activationBytes bytes the block holds for this micro-batch once its forward is done
 * @param stashBytes      bytes it still holds once p1 is done (what 2BP keeps for p2)
 */
public record BlockCost(String block, long forwardFlops, long p1Flops, long p2Flops, long parameters,
                        long activationBytes, long stashBytes) {

    public long totalFlops() {
        return forwardFlops + p1Flops + p2Flops;
    }
}
