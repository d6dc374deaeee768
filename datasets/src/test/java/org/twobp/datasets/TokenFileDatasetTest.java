package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenFileDatasetTest {

    @TempDir
    Path dir;

    private static final Datasets.Tuning SMALL_CHUNKS = new Datasets.Tuning(64, Long.MAX_VALUE, Long.MAX_VALUE);
    private static final Datasets.Tuning LAZY_CHECKS = new Datasets.Tuning(1 << 20, 0, Long.MAX_VALUE);

    @Test
    void uint16RoundTripsIncludingIdsAbove32767() throws IOException {
        Path file = TokenFiles.write(dir.resolve("u16.bin"), TokenDtype.UINT16, TokenFiles.counting(10_000, 40_000));
        try (TokenDataset data = Datasets.open("tokens:" + file + "?dtype=uint16", 64, 50_257, 1)) {
            assertEquals(50_257, data.vocabSize());
            for (int k = 0; k < 10; k++) {
                WindowChecks.assertCountingWindows(data.next(8), 40_000, 10_000);
            }
            assertTrue(data.describe().contains("10,000 uint16 tokens"), data.describe());
        }
    }

    @Test
    void uint32RoundTripsIncludingIdsAbove65535() throws IOException {
        Path file = TokenFiles.write(dir.resolve("u32.bin"), TokenDtype.UINT32, TokenFiles.counting(5_000, 120_000));
        try (TokenDataset data = Datasets.open("tokens:" + file + "?dtype=uint32&vocab=128256", 32, 0, 2)) {
            assertEquals(128_256, data.vocabSize());
            for (int k = 0; k < 10; k++) {
                WindowChecks.assertCountingWindows(data.next(8), 120_000, 5_000);
            }
        }
    }

    @Test
    void windowsReadAcrossMappingChunks() throws IOException {
        // 64-byte chunks hold 32 uint16 or 16 uint32 tokens, so most windows span several mappings.
        for (TokenDtype dtype : new TokenDtype[] {TokenDtype.UINT16, TokenDtype.UINT32}) {
            Path file = TokenFiles.write(dir.resolve("chunks-" + dtype.specName() + ".bin"), dtype,
                    TokenFiles.counting(3_000, 7));
            DatasetConfig config = new DatasetConfig("tokens:" + file + "?dtype=" + dtype.specName(), 50, 4_000, 3);
            Set<Long> starts = new HashSet<>();
            try (TokenDataset chunked = Datasets.open(config, SMALL_CHUNKS);
                    TokenDataset whole = Datasets.open(config)) {
                for (int k = 0; k < 20; k++) {
                    Batch b = chunked.next(16);
                    for (long s : WindowChecks.assertCountingWindows(b, 7, 3_000)) {
                        starts.add(s);
                    }
                    assertEquals(whole.next(16), b);
                }
            }
            assertTrue(starts.stream().anyMatch(s -> s * dtype.bytes() % 64 != 0), "windows cross chunk borders");
        }
    }

    @Test
    void llmcHeaderIsDetectedAndSkipped() throws IOException {
        Path file = TokenFiles.write(dir.resolve("llmc.bin"), TokenDtype.UINT16, TokenFiles.counting(2_000, 100), true);
        try (TokenDataset data = Datasets.open("tokens:" + file, 16, 50_257, 1)) {
            WindowChecks.assertCountingWindows(data.next(32), 100, 2_000);
            assertTrue(data.describe().contains("llm.c header"), data.describe());
        }
        DatasetException e = assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + file + "?dtype=uint32", 16, 50_257, 1));
        assertTrue(e.getMessage().contains("llm.c header saying its ids are uint16"), e.getMessage());
        Path raw = TokenFiles.write(dir.resolve("raw.bin"), TokenDtype.UINT16, TokenFiles.counting(600, 0));
        e = assertThrows(DatasetException.class, () -> Datasets.open("tokens:" + raw + "?header=llmc", 16, 50_257, 1));
        assertTrue(e.getMessage().contains("has no llm.c header"), e.getMessage());
        Path truncated = dir.resolve("truncated.bin");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length - 2));
        e = assertThrows(DatasetException.class, () -> Datasets.open("tokens:" + truncated, 16, 50_257, 1));
        assertTrue(e.getMessage().contains("truncated or corrupt"), e.getMessage());
    }

    @Test
    void deterministicAndResumable() throws IOException {
        Path u16 = TokenFiles.write(dir.resolve("r16.bin"), TokenDtype.UINT16, TokenFiles.counting(4_000, 0));
        StreamChecks.assertDeterministicAndResumable(() -> Datasets.open("tokens:" + u16 + "?dtype=uint16", 20, 4_000, 8));
        Path u32 = TokenFiles.write(dir.resolve("r32.bin"), TokenDtype.UINT32, TokenFiles.counting(4_000, 70_000));
        StreamChecks.assertDeterministicAndResumable(
                () -> Datasets.open("tokens:" + u32 + "?dtype=uint32", 20, 80_000, 8));
    }

    @Test
    void shardsPartitionTheStream() throws IOException {
        Path file = TokenFiles.write(dir.resolve("shards.bin"), TokenDtype.UINT16, TokenFiles.counting(4_000, 0));
        String spec = "tokens:" + file + "?dtype=uint16";
        try (TokenDataset whole = Datasets.open(spec, 10, 4_000, 6)) {
            StreamChecks.assertShardsPartitionTheStream(
                    i -> Datasets.open(new DatasetConfig(spec, 10, 4_000, 6, i, 2)), 2, whole, 4, 5);
        }
    }

    @Test
    void tokenAtOrAboveTheVocabularyIsReportedWithItsPosition() throws IOException {
        long[] ids = TokenFiles.counting(1_000, 0);
        for (int i = 0; i < ids.length; i++) {
            ids[i] %= 500;
        }
        ids[700] = 9_999;
        Path file = TokenFiles.write(dir.resolve("bad.bin"), TokenDtype.UINT16, ids);
        DatasetException e = assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + file + "?dtype=uint16", 8, 1_000, 1));
        assertTrue(e.getMessage().contains("token id 9999 at token 700 (byte offset 1400) of"), e.getMessage());
        assertTrue(e.getMessage().contains("vocab_size to at least 10000"), e.getMessage());

        // Checked per window instead: the error comes when a window first covers token 700,
        // and the failed batch does not advance the position.
        try (TokenDataset data = Datasets.open(new DatasetConfig("tokens:" + file + "?dtype=uint16", 8, 1_000, 1),
                LAZY_CHECKS)) {
            DatasetException lazy = null;
            for (int k = 0; k < 2_000 && lazy == null; k++) {
                DataPosition before = data.position();
                try {
                    data.next(16);
                } catch (DatasetException x) {
                    lazy = x;
                    assertEquals(before, data.position());
                }
            }
            assertTrue(lazy != null && lazy.getMessage().contains("token id 9999 at token 700"), String.valueOf(lazy));
        }
    }

    @Test
    void uint32IdsBeyondTheIntRangeAreReportedUnsigned() throws IOException {
        long[] ids = TokenFiles.counting(100, 0);
        ids[42] = 0xFFFF_FFFFL;
        Path file = TokenFiles.write(dir.resolve("huge.bin"), TokenDtype.UINT32, ids);
        DatasetException e = assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + file + "?dtype=uint32", 8, 1_000, 1));
        assertTrue(e.getMessage().contains("token id 4294967295 at token 42"), e.getMessage());
    }

    @Test
    void badFilesAndSpecsSayWhatIsWrong() throws IOException {
        Path odd = dir.resolve("odd.bin");
        Files.write(odd, new byte[1001]);
        DatasetException e = assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + odd + "?dtype=uint16", 8, 100, 1));
        assertTrue(e.getMessage().contains("1001 bytes") && e.getMessage().contains("not a whole number of uint16"),
                e.getMessage());
        Path six = dir.resolve("six.bin");
        Files.write(six, new byte[1002]);
        e = assertThrows(DatasetException.class, () -> Datasets.open("tokens:" + six + "?dtype=uint32", 8, 100, 1));
        assertTrue(e.getMessage().contains("not a whole number of uint32 tokens (4 bytes each)"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("tokens:" + six + "?dtype=float32", 8, 100, 1));
        assertTrue(e.getMessage().contains("unknown token dtype 'float32'"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("tokens:" + six, 8, 100, 1));
        assertTrue(e.getMessage().contains("add ?dtype=uint16"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("tokens:" + six + "?dtype=uint16", 8, 0, 1));
        assertTrue(e.getMessage().contains("add vocab="), e.getMessage());
        e = assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + six + "?dtype=uint16&vocab=50257", 8, 32_000, 1));
        assertTrue(e.getMessage().contains("at least 50257") && e.getMessage().contains("32000"), e.getMessage());
        e = assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + six + "?dtype=uint16&vocab=100000", 8, 0, 1));
        assertTrue(e.getMessage().contains("set dtype=uint32"), e.getMessage());
        Path empty = Files.createFile(dir.resolve("empty.bin"));
        e = assertThrows(DatasetException.class, () -> Datasets.open("tokens:" + empty + "?dtype=uint16", 8, 100, 1));
        assertTrue(e.getMessage().contains("empty (0 bytes)"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("tokens:" + six + "?dtype=uint16", 600, 100, 1));
        assertTrue(e.getMessage().contains("holds 501 tokens") && e.getMessage().contains("seqLen+1 = 601"),
                e.getMessage());
        e = assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + dir.resolve("nope.bin") + "?dtype=uint16", 8, 100, 1));
        assertTrue(e.getMessage().contains("data file not found"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("tokens:" + six + "?dtype=uint16&header=x", 8, 100, 1));
        assertTrue(e.getMessage().contains("auto, llmc or none"), e.getMessage());
    }

    @Test
    void uint8TokensWork() throws IOException {
        Path file = TokenFiles.write(dir.resolve("u8.bin"), TokenDtype.UINT8, TokenFiles.counting(200, 50));
        try (TokenDataset data = Datasets.open("tokens:" + file + "?dtype=uint8", 10, 256, 1)) {
            WindowChecks.assertCountingWindows(data.next(4), 50, 200);
        }
    }
}
