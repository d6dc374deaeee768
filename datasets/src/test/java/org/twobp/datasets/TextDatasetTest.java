package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextDatasetTest {

    @TempDir
    Path dir;

    private Path sampleText() throws IOException {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            s.append("line ").append(i).append(": the quick brown fox, été \u00e9\u4e2d.\n");
        }
        return Files.writeString(dir.resolve("input.txt"), s.toString(), StandardCharsets.UTF_8);
    }

    @Test
    void windowsAreConsecutiveBytesOfTheFile() throws IOException {
        Path file = sampleText();
        byte[] bytes = Files.readAllBytes(file);
        int seqLen = 32;
        try (TokenDataset data = Datasets.open("text:" + file, seqLen, 0, 3)) {
            assertEquals(256, data.vocabSize());
            Set<Integer> starts = new HashSet<>();
            for (int k = 0; k < 20; k++) {
                Batch b = data.next(8);
                assertEquals(b.tokens(), b.scoredTargets());
                for (int r = 0; r < 8; r++) {
                    int start = findWindow(bytes, b, r);
                    assertTrue(start >= 0, "row " + r + " is not a window of the file");
                    starts.add(start);
                }
            }
            assertTrue(starts.size() > 100, "windows start at many places: " + starts.size());
        }
    }

    /** A start s with inputs = bytes[s, s+T) and targets = bytes[s+1, s+T], or -1. */
    private static int findWindow(byte[] bytes, Batch b, int row) {
        int t0 = row * b.seqLen();
        outer:
        for (int s = 0; s + b.seqLen() < bytes.length; s++) {
            for (int t = 0; t < b.seqLen(); t++) {
                if (b.inputs()[t0 + t] != (bytes[s + t] & 0xFF) || b.targets()[t0 + t] != (bytes[s + t + 1] & 0xFF)) {
                    continue outer;
                }
            }
            return s;
        }
        return -1;
    }

    @Test
    void theWholeFileCanBeOneWindow() throws IOException {
        Path file = Files.writeString(dir.resolve("tiny.txt"), "abcdefghi");
        try (TokenDataset data = Datasets.open("text:" + file, 8, 512, 1)) {
            Batch b = data.next(2);
            assertEquals("abcdefgh", new String(toBytes(b.inputs(), 0, 8), StandardCharsets.US_ASCII));
            assertEquals("bcdefghi", new String(toBytes(b.targets(), 8, 16), StandardCharsets.US_ASCII));
            assertEquals(512, data.vocabSize());
        }
    }

    private static byte[] toBytes(int[] ids, int from, int to) {
        byte[] out = new byte[to - from];
        for (int i = from; i < to; i++) {
            out[i - from] = (byte) ids[i];
        }
        return out;
    }

    @Test
    void deterministicAndResumable() throws IOException {
        Path file = sampleText();
        StreamChecks.assertDeterministicAndResumable(() -> Datasets.open("text:" + file, 24, 0, 77));
    }

    @Test
    void shardsPartitionTheStream() throws IOException {
        Path file = sampleText();
        try (TokenDataset whole = Datasets.open("text:" + file, 16, 0, 5)) {
            StreamChecks.assertShardsPartitionTheStream(
                    i -> Datasets.open(new DatasetConfig("text:" + file, 16, 0, 5, i, 4)), 4, whole, 3, 3);
        }
    }

    @Test
    void badFilesSayWhatIsWrong() throws IOException {
        DatasetException e = assertThrows(DatasetException.class,
                () -> Datasets.open("text:" + dir.resolve("missing.txt"), 8, 0, 1));
        assertTrue(e.getMessage().contains("data file not found") && e.getMessage().contains("missing.txt"),
                e.getMessage());
        Path empty = Files.createFile(dir.resolve("empty.txt"));
        e = assertThrows(DatasetException.class, () -> Datasets.open("text:" + empty, 8, 0, 1));
        assertTrue(e.getMessage().contains("is empty (0 bytes)"), e.getMessage());
        Path shortFile = Files.writeString(dir.resolve("short.txt"), "abcdefgh");
        e = assertThrows(DatasetException.class, () -> Datasets.open("text:" + shortFile, 8, 0, 1));
        assertTrue(e.getMessage().contains("holds 8 tokens") && e.getMessage().contains("seqLen+1 = 9"),
                e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("text:" + dir, 8, 0, 1));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("text:", 8, 0, 1));
        assertTrue(e.getMessage().contains("names no file"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("text:" + shortFile, 4, 100, 1));
        assertTrue(e.getMessage().contains("at least 256"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("text:" + shortFile + "?dtype=uint16", 4, 0, 1));
        assertTrue(e.getMessage().contains("text: takes no options"), e.getMessage());
    }
}
