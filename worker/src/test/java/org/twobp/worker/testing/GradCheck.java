package org.twobp.worker.testing;

import java.util.SplittableRandom;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.Tensor;

/**
 * Central finite differences of a scalar loss against analytic gradients, in float32.
 *
 * <p>The loss is {@code sum(y * r)} for a fixed random r, summed in double, so the analytic
 * output-gradient is r. With eps = 1e-2 the truncation error of a central difference is about
 * eps^2 times the third derivative (~1e-4 here) and the float32 round-off of the loss divided
 * by 2*eps is of the same order, so agreement to 1e-3 of the gradient's scale is what
 * float32 allows (measured: at most ~1e-4); the PyTorch comparison checks to 1e-4 separately.
 */
public final class GradCheck {

    /** Step of the central difference. */
    public static final float EPS = 1e-2f;
    /** Allowed max |fd - analytic| relative to max |analytic| of the tensor. */
    public static final double TOLERANCE = 1e-3;

    /** Recomputes the loss from scratch with the current values of every input and parameter. */
    @FunctionalInterface
    public interface Loss {
        double compute();
    }

    private GradCheck() {
    }

    /** Fills with N(0, std) from a seeded generator. */
    public static void randomize(Tensor t, long seed, double std) {
        float[] d = CpuBackend.data(t);
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < t.size(); i++) {
            d[t.offset() + i] = (float) (rng.nextGaussian() * std);
        }
    }

    /** sum(y * r) in double. */
    public static double dot(Tensor y, Tensor r) {
        float[] yd = CpuBackend.data(y);
        float[] rd = CpuBackend.data(r);
        double s = 0;
        for (int i = 0; i < y.size(); i++) {
            s += (double) yd[y.offset() + i] * rd[r.offset() + i];
        }
        return s;
    }

    /**
     * Checks {@code analytic} (the gradient of the loss w.r.t. {@code wrt}) at up to
     * {@code samples} elements (all when the tensor is small). Returns the normalised max error.
     */
    public static double check(String what, Tensor wrt, Tensor analytic, Loss loss, int samples, long seed) {
        return check(what, wrt, analytic, loss, samples, seed, EPS);
    }

    /** As above with another step: deeper compositions have larger third derivatives and want a smaller one. */
    public static double check(String what, Tensor wrt, Tensor analytic, Loss loss, int samples, long seed,
                               float eps) {
        float[] w = CpuBackend.data(wrt);
        float[] g = CpuBackend.data(analytic);
        int n = wrt.size();
        double scale = 0;
        for (int i = 0; i < n; i++) {
            scale = Math.max(scale, Math.abs(g[analytic.offset() + i]));
        }
        SplittableRandom rng = new SplittableRandom(seed);
        int count = Math.min(n, samples);
        double maxErr = 0;
        int worst = -1;
        double worstFd = 0;
        for (int s = 0; s < count; s++) {
            int i = count == n ? s : rng.nextInt(n);
            int at = wrt.offset() + i;
            float orig = w[at];
            w[at] = orig + eps;
            double lp = loss.compute();
            w[at] = orig - eps;
            double lm = loss.compute();
            w[at] = orig;
            double fd = (lp - lm) / (2.0 * eps);
            double err = Math.abs(fd - g[analytic.offset() + i]);
            if (err > maxErr) {
                maxErr = err;
                worst = i;
                worstFd = fd;
            }
        }
        double rel = maxErr / Math.max(scale, 1e-6);
        if (!(rel <= TOLERANCE)) {
            throw new AssertionError(what + ": finite differences disagree, normalised max error " + rel
                    + " > " + TOLERANCE + " at element " + worst + " (fd " + worstFd + ", analytic "
                    + g[analytic.offset() + worst] + ", gradient scale " + scale + ")");
        }
        if (scale == 0) {
            throw new AssertionError(what + ": the analytic gradient is all zeros; the check would prove nothing");
        }
        if (Boolean.getBoolean("twobp.gradcheck.verbose")) {
            System.out.printf("fd %-40s max error %.2e of scale %.3g (%d elements)%n", what, rel, scale, count);
        }
        return rel;
    }
}
