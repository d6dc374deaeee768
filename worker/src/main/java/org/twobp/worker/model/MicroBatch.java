package org.twobp.worker.model;

/**
 * One micro-batch as the model sees it. Legend: B = batchSize sequences of T = seqLen positions,
 * row-major [B*T] ids.
 *
 * @param index     position in the step's sequence of micro-batches (for logs and schedules)
 * @param tokens    input ids [B*T]; needed by the first stage only (null elsewhere)
 * @param targets   target ids [B*T], -1 where not scored; needed by the last stage only
 * @param lossScale weight of one scored token in the step's loss, usually 1 / (scored tokens of
 *                  the whole global batch), so that gradients summed over micro-batches (and
 *                  stages) equal those of the whole batch at once
 */
public record MicroBatch(int index, int batchSize, int seqLen, int[] tokens, int[] targets, float lossScale) {

    /** Target value of a position that is not scored. */
    public static final int IGNORE = -1;

    public MicroBatch {
        if (batchSize < 1 || seqLen < 1) {
            throw new IllegalArgumentException("a micro-batch needs at least one sequence and one position, got "
                    + batchSize + " x " + seqLen);
        }
        int n = batchSize * seqLen;
        if (tokens != null && tokens.length != n) {
            throw new IllegalArgumentException("micro-batch " + index + ": " + tokens.length + " token ids for "
                    + batchSize + " x " + seqLen + " positions");
        }
        if (targets != null && targets.length != n) {
            throw new IllegalArgumentException("micro-batch " + index + ": " + targets.length + " targets for "
                    + batchSize + " x " + seqLen + " positions");
        }
    }

    /** B*T. */
    public int rows() {
        return batchSize * seqLen;
    }

    /** Targets that count (not -1). */
    public int scoredTargets() {
        if (targets == null) {
            return 0;
        }
        int n = 0;
        for (int t : targets) {
            if (t != IGNORE) {
                n++;
            }
        }
        return n;
    }
}
