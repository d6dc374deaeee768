package org.twobp.worker.optim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * AdamW (decoupled weight decay, Loshchilov and Hutter): moments m and v in two blocks with
 * the parameter layout; decay applies to parameters marked for it (matrices), not to norm
 * gains and biases. Runs of neighbouring parameters with the same decay are updated by one
 * backend call over the flat slice.
 */
public final class AdamW implements Optimizer {

    private final Backend backend;
    private final ParameterSet params;
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final Tensor m;
    private final Tensor v;
    private final List<Segments.Segment> segments;
    private int steps;

    public AdamW(Backend backend, ParameterSet params, float beta1, float beta2, float eps, float weightDecay) {
        this.backend = backend;
        this.params = params;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        int n = Math.max(1, params.size());
        this.m = backend.allocateZeros(MemoryCategory.OPTIMIZER_STATE, n).view(0, params.size());
        this.v = backend.allocateZeros(MemoryCategory.OPTIMIZER_STATE, n).view(0, params.size());
        this.segments = Segments.byDecay(params);
    }

    @Override
    public void step(float lr, float gradScale) {
        steps++;
        for (Segments.Segment s : segments) {
            backend.adamw(params.params().view(s.offset(), s.size()), params.grads().view(s.offset(), s.size()),
                    m.view(s.offset(), s.size()), v.view(s.offset(), s.size()), lr, beta1, beta2, eps,
                    s.decay() ? weightDecay : 0f, gradScale, steps);
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
        Map<String, Tensor> s = new LinkedHashMap<>();
        s.put("m", m);
        s.put("v", v);
        return s;
    }

    /** First moment of one parameter. */
    public Tensor firstMoment(Parameter p) {
        return p.viewOf(m);
    }

    /** Second moment of one parameter. */
    public Tensor secondMoment(Parameter p) {
        return p.viewOf(v);
    }

    @Override
    public String describe() {
        return String.format("AdamW(beta1 %s, beta2 %s, eps %s, weight decay %s)", beta1, beta2, eps, weightDecay);
    }
}
