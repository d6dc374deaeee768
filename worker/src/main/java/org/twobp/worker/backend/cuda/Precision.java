package org.twobp.worker.backend.cuda;

/**
 * How GEMMs compute. Weights, gradients, optimizer state and every non-GEMM operation stay
 * float32 (the master copy); only the operands of matrix products are rounded.
 */
public enum Precision {
    /** Float32 products, float32 accumulation. */
    FP32("fp32"),
    /** TensorFloat-32 tensor cores: operands rounded to 10 mantissa bits, float32 accumulation. */
    TF32("tf32"),
    /** Operands converted to bfloat16 (8 mantissa bits), float32 accumulation and output. */
    BF16("bf16"),
    /** Operands converted to float16, float32 accumulation; needs loss scaling for small gradients. */
    FP16("fp16");

    private final String label;

    Precision(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public static Precision parse(String s) {
        for (Precision p : values()) {
            if (p.label.equalsIgnoreCase(s.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + s + "': use fp32, tf32, bf16 or fp16");
    }
}
