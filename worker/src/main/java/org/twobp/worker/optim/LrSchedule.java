package org.twobp.worker.optim;

/**
 * Learning rate per step: linear warm-up from peak/warmup to peak over {@code warmup} steps,
 * then cosine decay to {@code min} at step {@code total - 1} (and {@code min} after that).
 * Steps count from 0.
 */
public record LrSchedule(double peak, double min, int warmup, int total) {

    public LrSchedule {
        if (!(peak > 0) || min < 0 || min > peak) {
            throw new IllegalArgumentException("learning rates must satisfy 0 <= min <= peak and peak > 0, got peak "
                    + peak + ", min " + min);
        }
        if (warmup < 0 || total < 1) {
            throw new IllegalArgumentException("warm-up steps must be >= 0 and total steps >= 1, got " + warmup + " and "
                    + total);
        }
    }

    /** A constant rate. */
    public static LrSchedule constant(double lr) {
        return new LrSchedule(lr, lr, 0, 1);
    }

    public double at(int step) {
        if (step < warmup) {
            return peak * (step + 1) / warmup;
        }
        int decaySteps = total - warmup;
        if (decaySteps <= 1) {
            return peak;
        }
        if (step >= total - 1) {
            return min;
        }
        double progress = (double) (step - warmup) / (decaySteps - 1);
        return min + 0.5 * (peak - min) * (1 + Math.cos(Math.PI * progress));
    }
}
