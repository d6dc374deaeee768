package org.twobp.datasets;

/**
 * A deterministic, resumable stream of token batches.
 *
 * <p>Determinism: the batches depend only on the dataset's configuration (spec, seqLen,
 * vocabulary, seed, shard) and the position, never on the rank, the thread or the run. The
 * first pipeline stage (which reads {@code inputs}) and the last (which reads {@code targets})
 * open their own instances and get identical batches.
 *
 * <p>Resume: {@link #position()} after k batches, stored and handed to {@link #seek} on a fresh
 * instance, gives exactly the batches the first instance would have produced next.
 *
 * <p>Instances are not thread-safe; each rank or thread opens its own.
 */
public interface TokenDataset extends AutoCloseable {

    /** Every id in {@code inputs} and {@code targets} (other than {@link Batch#IGNORE}) is below this. */
    int vocabSize();

    /** Positions per row. */
    int seqLen();

    /** One line for logs: what the data is, its size, vocabulary, seqLen, seed and shard. */
    String describe();

    /** The next {@code batchSize} sequences; advances the position by {@code batchSize} samples. */
    Batch next(int batchSize);

    /** The position of the next sample to be produced. */
    DataPosition position();

    /**
     * Continues from {@code position}, which must come from a dataset with the same configuration
     * (checked through its fingerprint).
     */
    void seek(DataPosition position);

    /** Releases the file behind the dataset, if any. */
    @Override
    void close();
}
