package org.twobp.worker.pipeline;

import java.util.List;

/**
 * One pipeline step as every rank agrees on it (loss, norm, slowest rank's time) plus this
 * rank's own timeline.
 *
 * @param loss        mean cross-entropy over the scored targets of the global batch
 * @param stepNanos   the slowest rank's step time
 * @param bubbleMean  idle / step time, averaged over ranks (idle = waiting, not computing)
 * @param bubbleMax   the idlest rank's ratio
 * @param peakBytes   the largest peak memory of any rank so far
 * @param optimizerNanos the slowest rank's gradient-norm and optimizer work (not counting the all-reduce wait)
 * @param localStepNanos this rank's step time
 * @param localBusyNanos this rank's compute time in the step (actions and optimizer, not waits)
 * @param localGemmFlops floating-point operations this rank's GEMMs executed in the step
 * @param timings     this rank's actions in the step
 */
public record PipelineStepResult(int step, double loss, long scored, long correct, double lr, double gradNorm,
                                 int tokens, long stepNanos, double bubbleMean, double bubbleMax, long peakBytes,
                                 long optimizerNanos, long localStepNanos, long localBusyNanos, long localGemmFlops,
                                 List<ActionTiming> timings) {

    public double accuracy() {
        return scored == 0 ? 0 : (double) correct / scored;
    }

    public double tokensPerSecond() {
        return tokens / (stepNanos / 1e9);
    }
}
