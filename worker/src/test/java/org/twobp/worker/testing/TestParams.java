package org.twobp.worker.testing;

import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/** Binds a parameter set declared by a test and gives it random values. */
public final class TestParams {

    private TestParams() {
    }

    /** Allocates and binds; every parameter gets N(mean, std) noise so gains are not all 1. */
    public static void bindRandom(Backend be, ParameterSet set, long seed, double std) {
        Tensor p = be.allocate(MemoryCategory.PARAMETERS, set.size());
        Tensor g = be.allocateZeros(MemoryCategory.GRADIENTS, set.size());
        set.bind(p, g);
        int i = 0;
        for (Parameter param : set.list()) {
            GradCheck.randomize(param.value(), seed + 31L * i++, std);
            if (param.init().kind() == Parameter.Init.Kind.ONES) {
                float[] d = org.twobp.worker.backend.cpu.CpuBackend.data(param.value());
                for (int k = 0; k < param.size(); k++) {
                    d[param.value().offset() + k] += 1f;
                }
            }
        }
    }
}
