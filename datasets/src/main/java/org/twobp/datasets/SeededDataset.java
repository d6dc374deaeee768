package org.twobp.datasets;

/**
 * The sampling and position logic shared by every dataset.
 *
 * <p>How the position maps to the random stream: local sample k of shard (i of n) is global sample
 * g = k*n + i, and its row is drawn from {@code SplitMix64.forSample(seed ^ SALT, g)} and nothing
 * else. A batch of b rows takes local samples k..k+b-1, so the position is just the local sample
 * counter k, and seeking is O(1). The salt keeps the data stream apart from any other stream the
 * caller derives from the same seed (weight initialisation, dropout).
 */
abstract class SeededDataset implements TokenDataset {

    /** "datasets" in ASCII. */
    static final long SALT = 0x6461746173657473L;

    final int seqLen;
    final int vocabSize;
    final long seed;
    final Shard shard;
    private final long fingerprint;
    private final long streamSeed;
    private long nextSample;

    /** {@code identity}: the facts, besides seqLen, vocabulary, seed and shard, that define the samples. */
    SeededDataset(int seqLen, int vocabSize, long seed, Shard shard, Object... identity) {
        if (seqLen < 1) {
            throw new DatasetException("seqLen must be at least 1, got " + seqLen);
        }
        this.seqLen = seqLen;
        this.vocabSize = vocabSize;
        this.seed = seed;
        this.shard = shard;
        this.streamSeed = seed ^ SALT;
        this.fingerprint = Fingerprint.of(getClass().getSimpleName(), Fingerprint.of(identity), seqLen, vocabSize,
                seed, shard.index(), shard.count());
    }

    /**
     * Writes one row: {@code inputs[offset..offset+seqLen)} and the matching targets, drawing all
     * randomness from {@code rng}.
     */
    abstract void fillRow(SplitMix64 rng, int[] inputs, int[] targets, int offset);

    /** What the data is, for {@link #describe()}. */
    abstract String source();

    @Override
    public final int vocabSize() {
        return vocabSize;
    }

    @Override
    public final int seqLen() {
        return seqLen;
    }

    @Override
    public String describe() {
        return source() + "; seqLen " + seqLen + ", vocab " + vocabSize + ", seed " + seed
                + (shard.count() > 1 ? ", shard " + shard : "");
    }

    @Override
    public final Batch next(int batchSize) {
        if (batchSize < 1) {
            throw new DatasetException("batch size must be at least 1, got " + batchSize);
        }
        long n = (long) batchSize * seqLen;
        if (n > Integer.MAX_VALUE - 8) {
            throw new DatasetException("a batch of " + batchSize + " x " + seqLen + " tokens is too large for one array;"
                    + " use a smaller batch size");
        }
        int[] inputs = new int[(int) n];
        int[] targets = new int[(int) n];
        for (int row = 0; row < batchSize; row++) {
            long global = shard.globalSample(nextSample + row);
            fillRow(SplitMix64.forSample(streamSeed, global), inputs, targets, row * seqLen);
        }
        nextSample += batchSize;
        return new Batch(batchSize, seqLen, inputs, targets);
    }

    @Override
    public final DataPosition position() {
        return new DataPosition(nextSample, fingerprint);
    }

    @Override
    public final void seek(DataPosition position) {
        if (position.fingerprint() != fingerprint) {
            throw new DatasetException("data position " + position + " was saved by a different dataset"
                    + " configuration than this one (" + describe() + ", fingerprint "
                    + String.format("%016x", fingerprint) + "); resume with the same data spec, seqLen,"
                    + " vocabulary size, seed and shard as the run that saved it, or start the data from the beginning");
        }
        nextSample = position.samples();
    }

    @Override
    public void close() {
    }
}
