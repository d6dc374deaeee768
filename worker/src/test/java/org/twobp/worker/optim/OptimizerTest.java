package org.twobp.worker.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.testing.TestParams;

class OptimizerTest {

    /** A matrix (decayed) followed by a gain (not decayed). */
    private static ParameterSet params(CpuBackend be) {
        ParameterSet set = new ParameterSet();
        set.declare("w", Parameter.Init.normal(1), true, 3, 4);
        set.declare("g", Parameter.Init.ones(), false, 5);
        TestParams.bindRandom(be, set, 3, 1);
        return set;
    }

    @Test
    void adamWMatchesTheDefinition() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = params(be);
            float b1 = 0.9f;
            float b2 = 0.95f;
            float eps = 1e-8f;
            float wd = 0.1f;
            float lr = 0.01f;
            float gs = 0.5f;
            AdamW opt = new AdamW(be, set, b1, b2, eps, wd);
            float[] p = be.toHost(set.params());
            double[] m = new double[p.length];
            double[] v = new double[p.length];
            double[] ref = new double[p.length];
            for (int i = 0; i < p.length; i++) {
                ref[i] = p[i];
            }
            for (int step = 1; step <= 3; step++) {
                float[] g = new float[p.length];
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) Math.sin(i + step);
                }
                be.copyFromHost(g, 0, set.grads());
                opt.step(lr, gs);
                for (int i = 0; i < p.length; i++) {
                    double grad = g[i] * gs;
                    m[i] = b1 * m[i] + (1 - b1) * grad;
                    v[i] = b2 * v[i] + (1 - b2) * grad * grad;
                    double mhat = m[i] / (1 - Math.pow(b1, step));
                    double vhat = v[i] / (1 - Math.pow(b2, step));
                    double decay = i < 12 ? wd : 0;
                    ref[i] -= lr * (mhat / (Math.sqrt(vhat) + eps) + decay * ref[i]);
                }
            }
            float[] got = be.toHost(set.params());
            for (int i = 0; i < p.length; i++) {
                assertEquals(ref[i], got[i], 1e-5, "parameter element " + i);
            }
            assertEquals(3, opt.steps());
            assertEquals(set.get("g").offset(), 12, "state mirrors the parameter layout");
            assertEquals((float) m[13], be.toHost(opt.firstMoment(set.get("g")))[1], 1e-6);
        }
    }

    @Test
    void sgdMomentumMatchesTorchDefinition() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = params(be);
            float mu = 0.9f;
            float wd = 0.01f;
            float lr = 0.1f;
            SgdMomentum opt = new SgdMomentum(be, set, mu, wd, false);
            float[] p = be.toHost(set.params());
            double[] ref = new double[p.length];
            double[] buf = new double[p.length];
            for (int i = 0; i < p.length; i++) {
                ref[i] = p[i];
            }
            for (int step = 1; step <= 3; step++) {
                float[] g = new float[p.length];
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) Math.cos(i * step);
                }
                be.copyFromHost(g, 0, set.grads());
                opt.step(lr, 1f);
                for (int i = 0; i < p.length; i++) {
                    double grad = g[i] + (i < 12 ? wd : 0) * ref[i];
                    buf[i] = mu * buf[i] + grad;
                    ref[i] -= lr * buf[i];
                }
            }
            float[] got = be.toHost(set.params());
            for (int i = 0; i < p.length; i++) {
                assertEquals(ref[i], got[i], 1e-5, "parameter element " + i);
            }
        }
    }

    @Test
    void clippingScalesToTheMaximumNorm() {
        try (CpuBackend be = new CpuBackend(1)) {
            ParameterSet set = params(be);
            float[] g = new float[set.size()];
            g[0] = 3;
            g[13] = 4;
            be.copyFromHost(g, 0, set.grads());
            double norm = Math.sqrt(GradClip.sumOfSquares(be, set));
            assertEquals(5.0, norm, 1e-9);
            assertEquals(0.2f, GradClip.scale(norm, 1.0), 1e-6);
            assertEquals(1f, GradClip.scale(norm, 10.0));
            assertEquals(1f, GradClip.scale(norm, 0));
        }
    }

    @Test
    void warmupThenCosine() {
        LrSchedule s = new LrSchedule(1.0, 0.1, 4, 13);
        assertEquals(0.25, s.at(0), 1e-12);
        assertEquals(1.0, s.at(3), 1e-12);
        assertEquals(1.0, s.at(4), 1e-12);
        assertEquals(0.55, s.at(8), 1e-12, "half way through the decay");
        assertEquals(0.1, s.at(12), 1e-12);
        assertEquals(0.1, s.at(100), 1e-12);
        assertEquals(0.5, LrSchedule.constant(0.5).at(7), 1e-12);
    }
}
