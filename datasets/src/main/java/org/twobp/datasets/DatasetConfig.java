package org.twobp.datasets;

/**
 * Everything that determines a dataset's batch stream.
 *
 * @param spec       the data spec, see {@link Datasets}
 * @param seqLen     positions per row (T)
 * @param vocabSize  the model's vocabulary size; every id produced is below it. 0 = use the
 *                   dataset's own (15 for synthetic tasks, 256 for text, vocab= or the file's
 *                   vocab_size attribute for token data)
 * @param seed       the data seed; same seed, same batches, on every rank and every run
 * @param shardIndex this data-parallel replica, in [0, shardCount)
 * @param shardCount number of data-parallel replicas (1 = no sharding)
 */
public record DatasetConfig(String spec, int seqLen, int vocabSize, long seed, int shardIndex, int shardCount) {

    public DatasetConfig {
        if (seqLen < 1) {
            throw new DatasetException("seqLen must be at least 1, got " + seqLen);
        }
        if (vocabSize < 0) {
            throw new DatasetException("vocabulary size must be positive (or 0 to use the dataset's own), got " + vocabSize);
        }
        new Shard(shardIndex, shardCount);
    }

    public DatasetConfig(String spec, int seqLen, int vocabSize, long seed) {
        this(spec, seqLen, vocabSize, seed, 0, 1);
    }

    public Shard shard() {
        return new Shard(shardIndex, shardCount);
    }

    /** The same configuration for replica {@code index} of {@code count}. */
    public DatasetConfig withShard(int index, int count) {
        return new DatasetConfig(spec, seqLen, vocabSize, seed, index, count);
    }
}
