package org.twobp.worker.optim;

import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.ParameterSet;

/**
 * Global gradient-norm clipping. With pipeline stages, each stage computes
 * {@link #sumOfSquares} of its own gradients, the stages all-reduce (sum) those numbers, and
 * every stage then uses the same {@link #scale}: the result equals clipping the whole model's
 * gradient at once.
 */
public final class GradClip {

    private GradClip() {
    }

    /** Sum of squared gradients of this set (accumulated in double). */
    public static double sumOfSquares(Backend backend, ParameterSet params) {
        return params.size() == 0 ? 0 : backend.sumOfSquares(params.grads());
    }

    /**
     * The factor to multiply gradients by so that their global norm is at most {@code maxNorm}
     * (1 when it already is, or when {@code maxNorm <= 0} disables clipping).
     */
    public static float scale(double globalNorm, double maxNorm) {
        if (maxNorm <= 0 || !(globalNorm > maxNorm)) {
            return 1f;
        }
        return (float) (maxNorm / (globalNorm + 1e-6));
    }
}
