package org.twobp.worker.optim;

/**
 * Dynamic loss scaling for float16 GEMM operands: the loss gradient is multiplied by a scale S
 * so that small activation gradients stay representable in float16, and the weight gradients are
 * divided by S again in the optimizer (its {@code gradScale}). A step whose gradients overflowed
 * (their sum of squares is not finite, on any stage) is skipped and S halved; after
 * {@link #GROWTH_INTERVAL} good steps in a row S doubles. With a fixed scale of 1 (fp32, tf32,
 * bf16: no float16 anywhere) nothing is ever skipped.
 *
 * <p>Every rank sees the same all-reduced sum of squares, so all ranks take the same decision
 * and keep the same scale; the scale and the count of good steps go into checkpoints, so that a
 * resumed run continues exactly.
 */
public final class LossScaler {

    /** Good steps in a row before the scale doubles (PyTorch's GradScaler uses the same). */
    public static final int GROWTH_INTERVAL = 2000;
    /** Where a dynamic scale starts: 2^16. */
    public static final float INITIAL_SCALE = 65536f;

    private final boolean dynamic;
    private float scale;
    private int goodSteps;
    private long skipped;

    private LossScaler(boolean dynamic, float scale) {
        this.dynamic = dynamic;
        this.scale = scale;
    }

    /** Scale 1, never changes, never skips. */
    public static LossScaler none() {
        return new LossScaler(false, 1f);
    }

    public static LossScaler dynamic(float initialScale) {
        if (!(initialScale >= 1f) || Float.isInfinite(initialScale)) {
            throw new IllegalArgumentException("the initial loss scale must be a finite number >= 1, got " + initialScale);
        }
        return new LossScaler(true, initialScale);
    }

    /** The scaler a precision needs: dynamic for fp16 (starting at {@code initial}, or 2^16 when 0), else none. */
    public static LossScaler forPrecision(String precision, double initial) {
        return precision.equals("fp16") ? dynamic(initial > 0 ? (float) initial : INITIAL_SCALE) : none();
    }

    public boolean isDynamic() {
        return dynamic;
    }

    /** The factor on the loss gradient of this step. */
    public float scale() {
        return scale;
    }

    /**
     * Takes the step's all-reduced sum of squares of the scaled gradients; returns whether the
     * optimizer may step (finite gradients) and updates the scale for the next step.
     */
    public boolean update(double scaledSumOfSquares) {
        if (!dynamic) {
            return true;
        }
        if (!Double.isFinite(scaledSumOfSquares)) {
            scale = Math.max(1f, scale / 2f);
            goodSteps = 0;
            skipped++;
            return false;
        }
        if (++goodSteps >= GROWTH_INTERVAL) {
            scale = Math.min(scale * 2f, 1.8e19f);
            goodSteps = 0;
        }
        return true;
    }

    /** Steps skipped for overflow since this scaler was made. */
    public long skipped() {
        return skipped;
    }

    public int goodSteps() {
        return goodSteps;
    }

    /** Continues from a checkpoint. */
    public void restore(float scale, int goodSteps) {
        if (dynamic) {
            this.scale = scale;
            this.goodSteps = goodSteps;
        }
    }
}
