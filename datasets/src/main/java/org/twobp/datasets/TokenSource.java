package org.twobp.datasets;

/** A flat, random-access array of token ids (a file or an HDF5 dataset). */
interface TokenSource extends AutoCloseable {

    /** Number of tokens. */
    long length();

    /** Copies tokens [start, start+count) into {@code dst[0..count)}, as exact unsigned or signed values. */
    void read(long start, int count, long[] dst);

    /** Where token {@code index} lives, for error messages, e.g. "token 12 (byte offset 24) of data.bin". */
    String locate(long index);

    /** What the data is, e.g. "data.bin: 1,000,000 uint16 tokens". */
    String describe();

    /** The facts that identify the data for a position fingerprint (type and length, not the path). */
    String identity();

    @Override
    void close();
}
