package org.twobp.datasets;

import java.util.Locale;

/**
 * Where a dataset stands in its sample stream: how many sequences it has handed out, and a
 * fingerprint of the dataset that produced it (source kind and size, seqLen, vocabulary, seed,
 * shard), so that a position is never applied to different data by mistake.
 *
 * <p>Every dataset derives sample k from (seed, k) alone, so this pair is all a checkpoint needs:
 * {@link TokenDataset#seek} on a fresh instance with the same spec continues with exactly the
 * batches the saved instance would have produced next, whatever batch sizes were used before.
 *
 * <p>Serialised forms: {@link #toLongs()} / {@link #fromLongs(long...)} (two longs) and
 * {@link #toString()} / {@link #parse(String)} ({@code samples=1234,fingerprint=0f1e2d3c4b5a6978}).
 */
public record DataPosition(long samples, long fingerprint) {

    public DataPosition {
        if (samples < 0) {
            throw new DatasetException("a data position counts samples from 0, got " + samples
                    + "; the saved position is corrupt, restore it from the checkpoint again");
        }
    }

    /** The position {@code n} samples further on. */
    public DataPosition advance(long n) {
        return new DataPosition(Math.addExact(samples, n), fingerprint);
    }

    /** {@code {samples, fingerprint}}. */
    public long[] toLongs() {
        return new long[] {samples, fingerprint};
    }

    public static DataPosition fromLongs(long... values) {
        if (values == null || values.length != 2) {
            throw new DatasetException("a data position is stored as 2 longs {samples, fingerprint}, got "
                    + (values == null ? "null" : values.length + " values"));
        }
        return new DataPosition(values[0], values[1]);
    }

    @Override
    public String toString() {
        return "samples=" + samples + ",fingerprint=" + String.format(Locale.ROOT, "%016x", fingerprint);
    }

    /** Reads the form written by {@link #toString()}. */
    public static DataPosition parse(String text) {
        String bad = "cannot read data position '" + text
                + "': expected the form samples=<count>,fingerprint=<16 hex digits>";
        if (text == null) {
            throw new DatasetException(bad);
        }
        String[] parts = text.trim().split(",");
        if (parts.length != 2 || !parts[0].startsWith("samples=") || !parts[1].startsWith("fingerprint=")) {
            throw new DatasetException(bad);
        }
        try {
            long samples = Long.parseLong(parts[0].substring("samples=".length()));
            long fingerprint = Long.parseUnsignedLong(parts[1].substring("fingerprint=".length()), 16);
            return new DataPosition(samples, fingerprint);
        } catch (NumberFormatException e) {
            throw new DatasetException(bad, e);
        }
    }
}
