package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checks that every row of a batch is a window of seqLen+1 consecutive tokens of the data. */
final class WindowChecks {

    private WindowChecks() {
    }

    /** For data ids[i] = base + i: row r is [s, s+T) shifted by base, targets one further. Returns the starts. */
    static long[] assertCountingWindows(Batch b, long base, long dataLength) {
        long[] starts = new long[b.batchSize()];
        for (int r = 0; r < b.batchSize(); r++) {
            long start = Integer.toUnsignedLong(b.inputs()[r * b.seqLen()]) - base;
            assertTrue(start >= 0 && start + b.seqLen() < dataLength, "window start " + start);
            for (int t = 0; t < b.seqLen(); t++) {
                assertEquals(base + start + t, Integer.toUnsignedLong(b.inputs()[r * b.seqLen() + t]));
                assertEquals(base + start + t + 1, Integer.toUnsignedLong(b.targets()[r * b.seqLen() + t]));
            }
            starts[r] = start;
        }
        return starts;
    }
}
