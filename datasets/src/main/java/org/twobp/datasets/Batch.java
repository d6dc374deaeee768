package org.twobp.datasets;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One batch of token sequences. Legend: B = batchSize rows, T = seqLen positions per row.
 *
 * <p>{@code inputs} and {@code targets} are row-major {@code [B*T]}. {@code targets[i]} is the
 * next-token target for {@code inputs[i]}, or {@link #IGNORE} (-1) where the position is not
 * scored (padding and the prompt part of a synthetic task). Loss and accuracy are taken over the
 * scored positions only.
 *
 * <p>The arrays are owned by the batch once it is built: do not modify them afterwards.
 */
public record Batch(int batchSize, int seqLen, int[] inputs, int[] targets) {

    /** Target value of a position that is not scored. */
    public static final int IGNORE = -1;

    public Batch {
        if (batchSize < 1 || seqLen < 1) {
            throw new DatasetException("a batch needs at least one row and one position, got batchSize "
                    + batchSize + " and seqLen " + seqLen);
        }
        long n = (long) batchSize * seqLen;
        if (inputs == null || targets == null || inputs.length != n || targets.length != n) {
            throw new DatasetException("a batch of " + batchSize + " x " + seqLen + " needs inputs and targets of "
                    + n + " ids each, got " + (inputs == null ? "null" : inputs.length) + " and "
                    + (targets == null ? "null" : targets.length));
        }
    }

    /** Number of token positions, B*T. */
    public int tokens() {
        return batchSize * seqLen;
    }

    /** Number of positions whose target counts for loss and accuracy (target != IGNORE). */
    public int scoredTargets() {
        int n = 0;
        for (int t : targets) {
            if (t != IGNORE) {
                n++;
            }
        }
        return n;
    }

    /**
     * Number of scored positions where {@code predicted[i] == targets[i]}: the numerator of
     * token accuracy, whose denominator is {@link #scoredTargets()}.
     *
     * @param predicted the model's predicted id (argmax of the logits) per position, [B*T]
     */
    public int correct(int[] predicted) {
        if (predicted.length != targets.length) {
            throw new DatasetException("predicted ids must have one entry per position (" + targets.length
                    + "), got " + predicted.length);
        }
        int n = 0;
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] != IGNORE && predicted[i] == targets[i]) {
                n++;
            }
        }
        return n;
    }

    /**
     * Micro-batch {@code index} of {@code microBatches} equal parts along the batch dimension:
     * rows [index*B/m, (index+1)*B/m).
     */
    public Batch microBatch(int index, int microBatches) {
        int rows = rowsPerMicroBatch(microBatches);
        if (index < 0 || index >= microBatches) {
            throw new DatasetException("micro-batch index " + index + " is out of range; a batch split into "
                    + microBatches + " micro-batches has indices 0.." + (microBatches - 1));
        }
        int from = index * rows * seqLen;
        int to = from + rows * seqLen;
        return new Batch(rows, seqLen, Arrays.copyOfRange(inputs, from, to), Arrays.copyOfRange(targets, from, to));
    }

    /** All micro-batches in order; their rows concatenated give this batch back. */
    public List<Batch> split(int microBatches) {
        rowsPerMicroBatch(microBatches);
        List<Batch> parts = new ArrayList<>(microBatches);
        for (int m = 0; m < microBatches; m++) {
            parts.add(microBatch(m, microBatches));
        }
        return List.copyOf(parts);
    }

    private int rowsPerMicroBatch(int microBatches) {
        if (microBatches < 1) {
            throw new DatasetException("the number of micro-batches must be at least 1, got " + microBatches);
        }
        if (batchSize % microBatches != 0) {
            throw new DatasetException("a global batch of " + batchSize + " rows cannot be split into "
                    + microBatches + " equal micro-batches; make the batch size a multiple of " + microBatches
                    + " (e.g. " + nextMultiple(batchSize, microBatches) + ") or use a micro-batch count that divides "
                    + batchSize + " (" + divisors(batchSize) + ")");
        }
        return batchSize / microBatches;
    }

    private static int nextMultiple(int n, int m) {
        return (n / m + 1) * m;
    }

    private static String divisors(int n) {
        StringBuilder s = new StringBuilder();
        for (int d = 1; d <= n; d++) {
            if (n % d == 0) {
                s.append(s.length() == 0 ? "" : ", ").append(d);
            }
        }
        return s.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Batch b && b.batchSize == batchSize && b.seqLen == seqLen
                && Arrays.equals(b.inputs, inputs) && Arrays.equals(b.targets, targets);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * batchSize + seqLen) + Arrays.hashCode(inputs)) + Arrays.hashCode(targets);
    }

    @Override
    public String toString() {
        return "Batch[" + batchSize + " x " + seqLen + ", " + scoredTargets() + " scored targets]";
    }
}
