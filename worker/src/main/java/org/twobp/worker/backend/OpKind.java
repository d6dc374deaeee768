package org.twobp.worker.backend;

/** Groups of backend operations, for the time breakdown of a step. */
public enum OpKind {
    GEMM("gemm"),
    ATTENTION_SOFTMAX("softmax"),
    NORM("norm"),
    /** im2col/col2im of the convolutions (their GEMMs count as {@link #GEMM}). */
    CONV("conv"),
    ROPE("rope"),
    ACTIVATION("activation"),
    ELEMENTWISE("elementwise"),
    EMBEDDING("embedding"),
    CROSS_ENTROPY("cross-entropy"),
    OPTIMIZER("optimizer"),
    TRANSFER("transfer");

    private final String label;

    OpKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
