package org.twobp.worker.schedule.sim;

import java.util.Arrays;
import org.twobp.worker.schedule.ScheduleException;

/**
 * How long one p2 call over k concatenated micro-batches takes, relative to one micro-batch's p2.
 * One larger GEMM runs at higher device efficiency than k small ones, so the factor can be below
 * k; the paper's idealised table assumes exactly k.
 */
public final class ConcatModel {
    private final String description;
    private final double overhead;
    private final double[] measuredFactors;

    private ConcatModel(String description, double overhead, double[] measuredFactors) {
        this.description = description;
        this.overhead = overhead;
        this.measuredFactors = measuredFactors;
    }

    /** k micro-batches cost k times one: the paper's idealised convention. */
    public static ConcatModel linear() {
        return new ConcatModel("linear", 0, null);
    }

    /**
     * A fixed part of every p2 call (kernel launches, a GEMM too small to fill the device) is paid
     * once per call: cost(k) = w * (overhead + (1 - overhead) * k), with overhead in [0, 1).
     */
    public static ConcatModel perCallOverhead(double overhead) {
        if (!(overhead >= 0 && overhead < 1)) {
            throw new ScheduleException("p2 per-call overhead must be in [0, 1), got " + overhead);
        }
        return new ConcatModel("overhead=" + overhead, overhead, null);
    }

    /**
     * Measured factors: {@code factors[k-1]} = time of a p2 over k micro-batches divided by the time
     * over one (so {@code factors[0]} is 1). Beyond the table the last measured per-micro-batch
     * rate continues.
     */
    public static ConcatModel measured(double[] factors) {
        if (factors.length == 0 || Math.abs(factors[0] - 1) > 1e-9) {
            throw new ScheduleException("measured p2 concatenation factors start with 1 (one micro-batch), got "
                    + Arrays.toString(factors));
        }
        for (double f : factors) {
            if (!(f > 0)) {
                throw new ScheduleException("measured p2 concatenation factors must be positive, got "
                        + Arrays.toString(factors));
            }
        }
        return new ConcatModel("measured" + Arrays.toString(factors), 0, factors.clone());
    }

    /** cost(k) / cost(1). */
    public double factor(int microbatches) {
        if (microbatches < 1) {
            throw new ScheduleException("a p2 call covers at least one micro-batch, got " + microbatches);
        }
        if (measuredFactors != null) {
            int n = measuredFactors.length;
            if (microbatches <= n) {
                return measuredFactors[microbatches - 1];
            }
            double rate = measuredFactors[n - 1] / n;
            return measuredFactors[n - 1] + rate * (microbatches - n);
        }
        return overhead + (1 - overhead) * microbatches;
    }

    @Override
    public String toString() {
        return description;
    }
}
