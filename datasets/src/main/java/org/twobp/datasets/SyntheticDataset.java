package org.twobp.datasets;

import java.util.Arrays;

/**
 * Rows packed with independent problems of one {@link SyntheticTask}: each row of seqLen+1 tokens
 * holds floor((seqLen+1) / problemLength) problems back to back, then padding. Inputs are tokens
 * [0, seqLen), targets tokens [1, seqLen], and a target is scored (not {@link Batch#IGNORE}) only
 * where it is an answer token. Token accuracy = correct scored targets / scored targets
 * ({@link Batch#correct}, {@link Batch#scoredTargets}).
 */
final class SyntheticDataset extends SeededDataset {

    private final SyntheticTask task;
    private final int problemsPerRow;

    SyntheticDataset(SyntheticTask task, int seqLen, int vocabSize, long seed, Shard shard) {
        super(seqLen, vocabSize, seed, shard, task.spec());
        this.task = task;
        this.problemsPerRow = (seqLen + 1) / task.problemLength();
        if (problemsPerRow < 1) {
            throw new DatasetException(task.spec() + " needs rows of at least " + task.problemLength()
                    + " tokens (seqLen >= " + (task.problemLength() - 1) + ") to hold one problem, but seqLen is "
                    + seqLen + "; raise seqLen or make the problems shorter");
        }
    }

    /** Problems in each row. */
    int problemsPerRow() {
        return problemsPerRow;
    }

    @Override
    void fillRow(SplitMix64 rng, int[] inputs, int[] targets, int offset) {
        int[] tokens = new int[seqLen + 1];
        boolean[] scored = new boolean[seqLen + 1];
        Arrays.fill(tokens, SyntheticVocabulary.PAD);
        for (int p = 0; p < problemsPerRow; p++) {
            task.write(rng, tokens, scored, p * task.problemLength());
        }
        for (int t = 0; t < seqLen; t++) {
            inputs[offset + t] = tokens[t];
            targets[offset + t] = scored[t + 1] ? tokens[t + 1] : Batch.IGNORE;
        }
    }

    @Override
    String source() {
        return task.spec() + ": " + task.example() + ", " + problemsPerRow + " per row";
    }
}
