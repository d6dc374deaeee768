package org.twobp.worker.tensor;

/**
 * What a buffer is for. Peak memory is reported per category, so that the cost of 2BP
 * (the stash kept between p1 and p2) can be told apart from ordinary activations.
 */
public enum MemoryCategory {
    /** Model weights. */
    PARAMETERS("params"),
    /** Parameter gradients (same layout as the parameters). */
    GRADIENTS("grads"),
    /** Optimizer moments (same layout as the parameters). */
    OPTIMIZER_STATE("optim"),
    /** Forward activations and temporaries of backward, alive until p1 is done. */
    ACTIVATIONS("activations"),
    /** What p2 needs after p1 has finished: layer inputs and output-gradients. */
    STASH("stash"),
    /** Send and receive buffers between pipeline stages. */
    COMMUNICATION("comm"),
    /** Short-lived scratch, such as the concatenation of several micro-batches for one p2 GEMM. */
    WORKSPACE("workspace");

    private final String label;

    MemoryCategory(String label) {
        this.label = label;
    }

    /** Short lower-case name used in log lines and metrics. */
    public String label() {
        return label;
    }
}
