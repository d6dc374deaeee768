package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BatchTest {

    /** Row r, position t holds 100*r + t; targets the same plus 1000, with position 0 ignored. */
    private static Batch numbered(int rows, int seqLen) {
        int[] in = new int[rows * seqLen];
        int[] tg = new int[rows * seqLen];
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < seqLen; t++) {
                in[r * seqLen + t] = 100 * r + t;
                tg[r * seqLen + t] = t == 0 ? Batch.IGNORE : 1000 + 100 * r + t;
            }
        }
        return new Batch(rows, seqLen, in, tg);
    }

    @Test
    void splitCutsAlongTheBatchDimensionAndConcatenatesBack() {
        Batch b = numbered(6, 4);
        List<Batch> parts = b.split(3);
        assertEquals(3, parts.size());
        int[] in = new int[24];
        int[] tg = new int[24];
        for (int m = 0; m < 3; m++) {
            Batch p = parts.get(m);
            assertEquals(2, p.batchSize());
            assertEquals(4, p.seqLen());
            assertEquals(100 * (2 * m), p.inputs()[0], "micro-batch " + m + " starts at row " + 2 * m);
            assertEquals(p, b.microBatch(m, 3));
            System.arraycopy(p.inputs(), 0, in, m * 8, 8);
            System.arraycopy(p.targets(), 0, tg, m * 8, 8);
        }
        assertArrayEquals(b.inputs(), in);
        assertArrayEquals(b.targets(), tg);
        assertEquals(List.of(b), b.split(1));
        assertEquals(6, b.split(6).size());
    }

    @Test
    void microBatchesDoNotShareArraysWithTheBatch() {
        Batch b = numbered(2, 3);
        Batch m = b.microBatch(1, 2);
        m.inputs()[0] = -5;
        assertEquals(100, b.inputs()[3]);
    }

    @Test
    void unevenSplitSaysWhatToChange() {
        DatasetException e = assertThrows(DatasetException.class, () -> numbered(12, 2).split(5));
        assertTrue(e.getMessage().contains("12 rows cannot be split into 5"), e.getMessage());
        assertTrue(e.getMessage().contains("multiple of 5 (e.g. 15)"), e.getMessage());
        assertTrue(e.getMessage().contains("(1, 2, 3, 4, 6, 12)"), e.getMessage());
        assertThrows(DatasetException.class, () -> numbered(4, 2).split(0));
        assertThrows(DatasetException.class, () -> numbered(4, 2).microBatch(4, 4));
        assertThrows(DatasetException.class, () -> numbered(4, 2).microBatch(-1, 4));
    }

    @Test
    void shapesAreChecked() {
        assertThrows(DatasetException.class, () -> new Batch(2, 3, new int[6], new int[5]));
        assertThrows(DatasetException.class, () -> new Batch(0, 3, new int[0], new int[0]));
    }

    @Test
    void accuracyCountsScoredPositionsOnly() {
        Batch b = new Batch(1, 4, new int[] {1, 2, 3, 4}, new int[] {-1, 7, 8, -1});
        assertEquals(2, b.scoredTargets());
        assertEquals(1, b.correct(new int[] {9, 7, 0, 4}));
        assertEquals(2, b.correct(new int[] {-1, 7, 8, -1}));
        assertEquals(4, b.tokens());
    }
}
