package org.twobp.worker.optim;

import java.util.List;
import java.util.Map;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * SGD with (optionally Nesterov) momentum and L2 weight decay, as torch.optim.SGD: one momentum
 * buffer with the parameter layout.
 */
public final class SgdMomentum implements Optimizer {

    private final Backend backend;
    private final ParameterSet params;
    private final float momentum;
    private final float weightDecay;
    private final boolean nesterov;
    private final Tensor buffer;
    private final List<Segments.Segment> segments;
    private int steps;

    public SgdMomentum(Backend backend, ParameterSet params, float momentum, float weightDecay, boolean nesterov) {
        this.backend = backend;
        this.params = params;
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
        this.buffer = backend.allocateZeros(MemoryCategory.OPTIMIZER_STATE, Math.max(1, params.size()))
                .view(0, params.size());
        this.segments = Segments.byDecay(params);
    }

    @Override
    public void step(float lr, float gradScale) {
        steps++;
        for (Segments.Segment s : segments) {
            backend.sgd(params.params().view(s.offset(), s.size()), params.grads().view(s.offset(), s.size()),
                    buffer.view(s.offset(), s.size()), lr, momentum, s.decay() ? weightDecay : 0f, gradScale,
                    nesterov);
        }
    }

    @Override
    public int steps() {
        return steps;
    }

    @Override
    public void setSteps(int steps) {
        this.steps = steps;
    }

    @Override
    public Map<String, Tensor> state() {
        return Map.of("momentum", buffer);
    }

    @Override
    public String describe() {
        return String.format("SGD(momentum %s%s, weight decay %s)", momentum, nesterov ? ", nesterov" : "",
                weightDecay);
    }
}
