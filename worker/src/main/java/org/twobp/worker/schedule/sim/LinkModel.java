package org.twobp.worker.schedule.sim;

import org.twobp.worker.schedule.ScheduleException;

/**
 * Point-to-point link between neighbouring ranks: a message of b bytes arrives
 * {@code latency + b / bandwidth} seconds after its send is posted. Links are not shared between
 * messages in this model: pipeline neighbours exchange one tensor per action and transfers overlap
 * compute, so contention is a second-order effect here.
 */
public record LinkModel(double latency, double bytesPerSecond) {
    public LinkModel {
        if (!(latency >= 0) || !(bytesPerSecond > 0)) {
            throw new ScheduleException("a link needs latency >= 0 and bandwidth > 0, got latency " + latency
                    + " and bandwidth " + bytesPerSecond);
        }
    }

    /** Transfers take no time: the paper's idealised convention. */
    public static LinkModel free() {
        return new LinkModel(0, Double.POSITIVE_INFINITY);
    }

    /** A fixed time per message, whatever its size. */
    public static LinkModel fixed(double seconds) {
        return new LinkModel(seconds, Double.POSITIVE_INFINITY);
    }

    public double transferTime(double bytes) {
        return latency + (Double.isInfinite(bytesPerSecond) ? 0 : bytes / bytesPerSecond);
    }
}
