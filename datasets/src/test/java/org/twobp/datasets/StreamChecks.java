package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/** Checks shared by every dataset kind: determinism, exact resume, batch-size independence. */
final class StreamChecks {

    private StreamChecks() {
    }

    static List<Batch> take(TokenDataset data, int... sizes) {
        List<Batch> batches = new ArrayList<>();
        for (int size : sizes) {
            batches.add(data.next(size));
        }
        return batches;
    }

    /** Every row of every batch, in order. */
    static List<int[]> rows(List<Batch> batches, boolean targets) {
        List<int[]> rows = new ArrayList<>();
        for (Batch b : batches) {
            int[] src = targets ? b.targets() : b.inputs();
            for (int r = 0; r < b.batchSize(); r++) {
                rows.add(Arrays.copyOfRange(src, r * b.seqLen(), (r + 1) * b.seqLen()));
            }
        }
        return rows;
    }

    static void assertSameRows(List<int[]> expected, List<int[]> actual) {
        assertEquals(expected.size(), actual.size(), "row count");
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "row " + i);
        }
    }

    static void assertDeterministicAndResumable(Supplier<TokenDataset> open) {
        List<Batch> first;
        List<Batch> rest;
        DataPosition saved;
        try (TokenDataset a = open.get()) {
            first = take(a, 3, 5, 2);
            saved = a.position();
            assertEquals(10, saved.samples());
            rest = take(a, 4, 4);
        }
        try (TokenDataset b = open.get()) {
            assertEquals(first, take(b, 3, 5, 2), "same configuration, same batches");
            assertEquals(rest, take(b, 4, 4));
        }
        try (TokenDataset c = open.get()) {
            c.seek(DataPosition.parse(saved.toString()));
            assertEquals(rest, take(c, 4, 4), "resume from the string form");
        }
        try (TokenDataset d = open.get()) {
            d.next(7);
            d.seek(DataPosition.fromLongs(saved.toLongs()));
            assertEquals(rest, take(d, 4, 4), "resume from the long form, after other batches");
        }
        try (TokenDataset e = open.get()) {
            List<Batch> one = take(e, 10);
            assertSameRows(rows(first, false), rows(one, false));
            assertSameRows(rows(first, true), rows(one, true));
        }
        try (TokenDataset f = open.get()) {
            assertEquals(0, f.position().samples());
            f.seek(new DataPosition(3, saved.fingerprint()));
            List<int[]> tail = rows(take(f, 7), false);
            assertSameRows(rows(first, false).subList(3, 10), tail);
        }
    }

    /** Batch j of each of n shards, b rows each, together hold the rows of unsharded batch j of b*n rows. */
    static void assertShardsPartitionTheStream(java.util.function.IntFunction<TokenDataset> openShard, int count,
            TokenDataset whole, int rowsPerShard, int batches) {
        List<TokenDataset> shards = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            shards.add(openShard.apply(i));
        }
        for (int j = 0; j < batches; j++) {
            List<String> expected = new ArrayList<>();
            for (int[] row : rows(List.of(whole.next(rowsPerShard * count)), false)) {
                expected.add(Arrays.toString(row));
            }
            List<String> actual = new ArrayList<>();
            for (TokenDataset s : shards) {
                for (int[] row : rows(List.of(s.next(rowsPerShard)), false)) {
                    actual.add(Arrays.toString(row));
                }
            }
            expected.sort(null);
            actual.sort(null);
            assertEquals(expected, actual, "batch " + j);
        }
        shards.forEach(TokenDataset::close);
    }
}
