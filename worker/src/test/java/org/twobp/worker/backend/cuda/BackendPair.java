package org.twobp.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Tensor;

/**
 * One CPU and one CUDA backend for parity tests, and helpers to put the same data in both:
 * every {@code Tensor[]} is {CPU tensor, CUDA tensor} with equal contents.
 */
final class BackendPair implements AutoCloseable {

    final CpuBackend cpu = new CpuBackend(1);
    final CudaBackend gpu;
    final SplittableRandom rng;

    BackendPair(String target, Precision precision, long seed) {
        gpu = CudaTargets.backend(target, precision);
        rng = new SplittableRandom(seed);
    }

    /** Uniform in [offset - scale, offset + scale). */
    Tensor[] random(float scale, float offset, int... shape) {
        Tensor a = cpu.allocate(MemoryCategory.ACTIVATIONS, shape);
        Tensor b = gpu.allocate(MemoryCategory.ACTIVATIONS, shape);
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rng.nextDouble(-1, 1) * scale) + offset;
        }
        cpu.copyFromHost(v, 0, a);
        gpu.copyFromHost(v, 0, b);
        return new Tensor[] {a, b};
    }

    Tensor[] random(float scale, int... shape) {
        return random(scale, 0f, shape);
    }

    /** |uniform| + 0.1: for second moments and other positive inputs. */
    Tensor[] positive(int... shape) {
        Tensor[] t = random(1f, shape);
        float[] v = cpu.toHost(t[0]);
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.abs(v[i]) + 0.1f;
        }
        cpu.copyFromHost(v, 0, t[0]);
        gpu.copyFromHost(v, 0, t[1]);
        return t;
    }

    Tensor[] filled(float value, int... shape) {
        Tensor a = cpu.allocate(MemoryCategory.ACTIVATIONS, shape);
        Tensor b = gpu.allocate(MemoryCategory.ACTIVATIONS, shape);
        cpu.fill(a, value);
        gpu.fill(b, value);
        return new Tensor[] {a, b};
    }

    /** Asserts the two agree; returns the worst difference relative to the largest CPU value. */
    double same(Tensor[] t, float tol, String what) {
        return assertClose(cpu.toHost(t[0]), gpu.toHost(t[1]), tol, what + " on " + gpu.device().name());
    }

    /**
     * max |expected - actual| <= tol * max |expected| (NaN never passes); returns the worst
     * difference relative to max |expected|.
     */
    static double assertClose(float[] expected, float[] actual, float tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        float scale = 0;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        scale = Math.max(scale, 1e-30f);
        float worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            float d = Math.abs(expected[i] - actual[i]);
            if (!(d <= worst) || Float.isNaN(actual[i])) {
                worst = Float.isNaN(actual[i]) ? Float.POSITIVE_INFINITY : d;
                at = i;
            }
        }
        if (System.getProperty("twobp.test.report") != null) {   // -Dtwobp.test.report=1 lists every comparison
            System.out.printf("parity %-60s worst %.2e of max |expected| (bound %.0e)%n", what, worst / scale, tol);
        }
        assertTrue(worst <= tol * scale, what + ": worst difference " + worst + " at element " + at + " (expected "
                + (at >= 0 ? expected[at] : 0) + ", got " + (at >= 0 ? actual[at] : 0) + "), bound " + tol * scale);
        return worst / scale;
    }

    @Override
    public void close() {
        cpu.close();
        gpu.close();
    }
}
