package org.twobp.worker.optim;

import java.util.Map;
import org.twobp.worker.tensor.Tensor;

/**
 * Updates the parameters of one {@link org.twobp.worker.tensor.ParameterSet} from its gradient
 * block. State tensors have the parameter layout, so {@code Parameter.viewOf(state)} gives the
 * state of one named parameter (for checkpoints and resharding).
 */
public interface Optimizer {

    /**
     * One update with learning rate {@code lr}; every gradient is multiplied by
     * {@code gradScale} first (1, or the global clipping factor from {@link GradClip}).
     */
    void step(float lr, float gradScale);

    /** Updates done so far (AdamW's bias correction uses it). */
    int steps();

    /** Restores the step count (resume from a checkpoint). */
    void setSteps(int steps);

    /** The state blocks by name (e.g. {@code m}, {@code v}), each with the parameter layout. */
    Map<String, Tensor> state();

    /** One line for logs. */
    String describe();
}
