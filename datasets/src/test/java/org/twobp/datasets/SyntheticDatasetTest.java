package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class SyntheticDatasetTest {

    /** The row's full text: its inputs plus the last target (or padding). */
    private static String rowText(Batch b, int row) {
        int from = row * b.seqLen();
        return SyntheticVocabulary.decode(b.inputs(), from, from + b.seqLen());
    }

    @Test
    void additionAnswersAreTheRealSumAndOnlyTheyAreScored() {
        int seqLen = 63; // 64-token rows hold four 13-token problems and 12 padding tokens
        try (TokenDataset data = Datasets.open("synthetic:addition", seqLen, 0, 11)) {
            assertEquals(SyntheticVocabulary.SIZE, data.vocabSize());
            Batch b = data.next(16);
            Pattern problem = Pattern.compile("(\\d{3})\\+(\\d{3})=(\\d{4})\\.");
            int problems = 0;
            for (int r = 0; r < b.batchSize(); r++) {
                String text = rowText(b, r);
                assertTrue(text.matches("((\\d{3})\\+(\\d{3})=(\\d{4})\\.){4}_+"), text);
                Matcher m = problem.matcher(text);
                while (m.find()) {
                    int a = Integer.parseInt(m.group(1));
                    int c = Integer.parseInt(m.group(2));
                    assertEquals(a + c, Integer.parseInt(m.group(3)), text);
                    // The target of the position before each answer digit is that digit; nothing else is scored.
                    for (int d = 0; d < 4; d++) {
                        int pos = m.start(3) + d - 1;
                        assertEquals(m.group(3).charAt(d) - '0', b.targets()[r * seqLen + pos], text);
                    }
                    problems++;
                }
            }
            assertEquals(64, problems);
            assertEquals(64 * 4, b.scoredTargets());
            for (int i = 0; i < b.tokens(); i++) {
                int t = b.targets()[i];
                assertTrue(t == Batch.IGNORE || (t >= 0 && t <= 9));
                if (i % seqLen < seqLen - 1) {
                    assertTrue(t == Batch.IGNORE || t == b.inputs()[i + 1], "targets are the next token");
                }
            }
        }
    }

    @Test
    void reversedAdditionWritesTheSumLowestDigitFirst() {
        try (TokenDataset data = Datasets.open("synthetic:addition?digits=5&reverse=true", 18, 0, 3)) {
            Batch b = data.next(32);
            for (int r = 0; r < b.batchSize(); r++) {
                String text = rowText(b, r);
                Matcher m = Pattern.compile("(\\d{5})\\+(\\d{5})=(\\d{6})").matcher(text);
                assertTrue(m.lookingAt(), text);
                long sum = Long.parseLong(m.group(1)) + Long.parseLong(m.group(2));
                assertEquals(sum, Long.parseLong(new StringBuilder(m.group(3)).reverse().toString()), text);
            }
        }
    }

    @Test
    void copyRepeatsTheDigitsAndScoresTheCopy() {
        int seqLen = 39; // two 18-token problems, then 4 padding tokens
        try (TokenDataset data = Datasets.open("synthetic:copy?length=8", seqLen, 32, 5)) {
            assertEquals(32, data.vocabSize());
            Batch b = data.next(8);
            assertEquals(8 * 2 * 8, b.scoredTargets());
            for (int r = 0; r < b.batchSize(); r++) {
                String text = rowText(b, r);
                Matcher m = Pattern.compile("(\\d{8})\\|(\\d{8})\\.").matcher(text);
                int found = 0;
                while (m.find()) {
                    assertEquals(m.group(1), m.group(2), text);
                    found++;
                }
                assertEquals(2, found, text);
            }
        }
    }

    @Test
    void problemsVaryAcrossRowsAndSeeds() {
        try (TokenDataset a = Datasets.open("synthetic:addition", 64, 0, 1);
                TokenDataset b = Datasets.open("synthetic:addition", 64, 0, 2)) {
            Batch x = a.next(4);
            assertTrue(!x.equals(b.next(4)));
            assertTrue(!rowText(x, 0).equals(rowText(x, 1)));
        }
    }

    @Test
    void deterministicAndResumable() {
        StreamChecks.assertDeterministicAndResumable(() -> Datasets.open("synthetic:addition?digits=4", 40, 0, 9));
        StreamChecks.assertDeterministicAndResumable(() -> Datasets.open("synthetic:copy?length=5", 30, 0, 9));
    }

    @Test
    void shardsPartitionTheStream() {
        try (TokenDataset whole = Datasets.open("synthetic:copy", 36, 0, 4)) {
            StreamChecks.assertShardsPartitionTheStream(
                    i -> Datasets.open(new DatasetConfig("synthetic:copy", 36, 0, 4, i, 3)), 3, whole, 2, 4);
        }
    }

    @Test
    void tooShortRowsAndTooSmallVocabulariesAreRejected() {
        DatasetException e = assertThrows(DatasetException.class,
                () -> Datasets.open("synthetic:addition?digits=5", 10, 0, 1));
        assertTrue(e.getMessage().contains("seqLen >= 18"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("synthetic:copy", 64, 10, 1));
        assertTrue(e.getMessage().contains("at least 15"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("synthetic:sorting", 64, 0, 1));
        assertTrue(e.getMessage().contains("unknown synthetic task 'sorting'"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("synthetic:addition?digits=40", 64, 0, 1));
        assertTrue(e.getMessage().contains("digits=40"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("synthetic:copy?digits=4", 64, 0, 1));
        assertTrue(e.getMessage().contains("unknown option 'digits'") && e.getMessage().contains("accepts length"),
                e.getMessage());
    }

    @Test
    void describeSaysWhatTheTaskIs() {
        try (TokenDataset data = Datasets.open("synthetic:addition", 64, 0, 1)) {
            String d = data.describe();
            assertTrue(d.contains("synthetic:addition?digits=3") && d.contains("123+456=0579.") && d.contains("5 per row") && d.contains("seed 1"), d);
        }
    }
}
