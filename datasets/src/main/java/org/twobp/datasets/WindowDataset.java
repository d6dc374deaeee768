package org.twobp.datasets;

/**
 * Random windows of seqLen+1 consecutive tokens from a {@link TokenSource}: a row's start is
 * uniform over the length-seqLen possible starts, drawn from the row's own generator; inputs are
 * the first seqLen tokens of the window and targets the last seqLen, all scored.
 *
 * <p>Token ids are checked against the vocabulary: the whole source once at open when it has at
 * most {@code eagerCheckLimit} tokens, otherwise each window as it is read. A bad id fails with
 * its position and value either way.
 */
final class WindowDataset extends SeededDataset {

    /** Sources up to this many tokens (512 MiB of uint16) are checked in full when opened. */
    static final long EAGER_CHECK_LIMIT = 256L << 20;

    private final TokenSource source;
    private final String kind;
    private final boolean checkedAtOpen;
    private final long[] window;

    WindowDataset(String kind, TokenSource source, int seqLen, int vocabSize, long seed, Shard shard,
            long eagerCheckLimit) {
        super(seqLen, vocabSize, seed, shard, kind, source.identity());
        this.kind = kind;
        this.source = source;
        this.window = new long[seqLen + 1];
        if (source.length() < seqLen + 1L) {
            throw new DatasetException(source.describe() + " holds " + source.length() + " tokens, but one training"
                    + " window needs seqLen+1 = " + (seqLen + 1L) + "; use a smaller seqLen or more data");
        }
        this.checkedAtOpen = source.length() <= eagerCheckLimit;
        if (checkedAtOpen) {
            checkAll();
        }
    }

    private void checkAll() {
        long[] block = new long[1 << 16];
        for (long start = 0; start < source.length(); start += block.length) {
            int count = (int) Math.min(block.length, source.length() - start);
            source.read(start, count, block);
            for (int i = 0; i < count; i++) {
                check(block[i], start + i);
            }
        }
    }

    private void check(long id, long index) {
        if (id < 0 || id >= vocabSize) {
            throw new DatasetException("token id " + id + " at " + source.locate(index) + " is outside the vocabulary"
                    + " [0, " + vocabSize + "); the data was tokenized for a larger vocabulary: set the model's"
                    + " vocab_size to at least " + (id < 0 ? "the tokenizer's size" : String.valueOf(id + 1))
                    + " or re-tokenize the data" + (id >= 0 ? ", and check that dtype= matches how the file was written" : ""));
        }
    }

    @Override
    void fillRow(SplitMix64 rng, int[] inputs, int[] targets, int offset) {
        long start = rng.nextLong(source.length() - seqLen);
        source.read(start, seqLen + 1, window);
        if (!checkedAtOpen) {
            for (int i = 0; i <= seqLen; i++) {
                check(window[i], start + i);
            }
        }
        for (int t = 0; t < seqLen; t++) {
            inputs[offset + t] = (int) window[t];
            targets[offset + t] = (int) window[t + 1];
        }
    }

    @Override
    String source() {
        return kind + " " + source.describe() + ", random windows";
    }

    @Override
    public void close() {
        source.close();
    }
}
