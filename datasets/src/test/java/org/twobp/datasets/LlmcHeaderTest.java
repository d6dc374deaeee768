package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * llm.c's two token-file headers are read (GPT-2: magic 20240520 version 1, uint16; LLaMA-3:
 * 20240801 version 7, uint32), and anything else that starts like an llm.c file is refused with
 * what it is and how to read it raw anyway, instead of being trained on as ids.
 */
class LlmcHeaderTest {

    @TempDir
    Path dir;

    private static void assertMessage(DatasetException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' missing from: " + e.getMessage());
        }
    }

    private DatasetException refused(Path file) {
        return assertThrows(DatasetException.class, () -> Datasets.open("tokens:" + file, 16, 200_000, 1));
    }

    @Test
    void gpt2FilesAreUint16AfterTheHeader() throws IOException {
        Path file = TokenFiles.write(dir.resolve("gpt2.bin"), TokenDtype.UINT16, TokenFiles.counting(3_000, 50_000), true);
        assertEquals(1024 + 2 * 3_000, Files.size(file));
        try (TokenDataset data = Datasets.open("tokens:" + file, 16, 53_000, 1)) {
            WindowChecks.assertCountingWindows(data.next(32), 50_000, 3_000);
            assertTrue(data.describe().contains("3,000 uint16 tokens after an llm.c header"), data.describe());
        }
    }

    @Test
    void llama3FilesAreUint32AfterTheHeader() throws IOException {
        // ids above 65535 come back whole only if they are read as uint32 after exactly 1024 bytes
        Path file = TokenFiles.write(dir.resolve("llama3.bin"), TokenDtype.UINT32, TokenFiles.counting(3_000, 125_000),
                true);
        assertEquals(1024 + 4 * 3_000, Files.size(file));
        try (TokenDataset data = Datasets.open("tokens:" + file + "?vocab=128256", 16, 0, 1)) {
            WindowChecks.assertCountingWindows(data.next(32), 125_000, 3_000);
            assertTrue(data.describe().contains("3,000 uint32 tokens after an llm.c header"), data.describe());
        }
        assertMessage(assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + file + "?dtype=uint16", 16, 200_000, 1)),
                "llm.c header saying its ids are uint32", "set dtype=uint32");
        Path truncated = dir.resolve("llama3-cut.bin");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 2));
        assertMessage(refused(truncated), "magic 20240801, version 7 (uint32 ids) for 3000 tokens",
                "makes 13024 bytes", "the file has 13022", "truncated or corrupt", "header=none");
    }

    @Test
    void aKnownMagicWithAVersionLlmcNeverWroteIsRefused() throws IOException {
        long[] ids = TokenFiles.counting(500, 0);
        // 20240520 version 2 never existed in llm.c (its readers stop on any version but 1)
        assertMessage(refused(TokenFiles.write(dir.resolve("v2.bin"), TokenDtype.UINT32, ids,
                new int[] {LlmcHeader.GPT2_MAGIC, 2, ids.length})),
                "magic 20240520 but says version 2", "version 1 (uint16 ids) only", "header=none");
        assertMessage(refused(TokenFiles.write(dir.resolve("v1.bin"), TokenDtype.UINT32, ids,
                new int[] {LlmcHeader.LLAMA3_MAGIC, 1, ids.length})),
                "magic 20240801 but says version 1", "version 7 (uint32 ids) only", "header=none");
    }

    @Test
    void llmcFilesThatHoldNoTokensAreNamed() throws IOException {
        long[] ids = TokenFiles.counting(500, 0);
        assertMessage(refused(TokenFiles.write(dir.resolve("tokenizer.bin"), TokenDtype.UINT16, ids,
                new int[] {20240328, 2, 50_257, 50_256})),
                "tokenizer.bin is an llm.c tokenizer file", "magic 20240328, version 2", "not a token file");
        assertMessage(refused(TokenFiles.write(dir.resolve("gpt2_124M.bin"), TokenDtype.UINT32, ids,
                new int[] {20240326, 3, 1024, 50_257, 12, 12, 768, 50_304})),
                "an llm.c GPT-2 model file", "not a token file");
        assertMessage(refused(TokenFiles.write(dir.resolve("hellaswag_val.bin"), TokenDtype.UINT16, ids,
                new int[] {20240522, 1, 10_042, 250})),
                "an llm.c eval file", "not a token file");
    }

    @Test
    void anUnknownDateStampedMagicIsRefusedNotReadAsTokens() throws IOException {
        long[] ids = TokenFiles.counting(500, 0);
        Path file = TokenFiles.write(dir.resolve("future.bin"), TokenDtype.UINT16, ids, new int[] {20260115, 1, 500});
        assertMessage(refused(file), "future.bin starts with 20260115, version 1", "llm.c file",
                "20240520 (GPT-2, uint16) or 20240801 (LLaMA-3, uint32)", "header=none");
        assertMessage(assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + file + "?dtype=uint16", 16, 200_000, 1)), "header=none");
        assertTrue(LlmcHeader.looksLikeADate(20230101) && LlmcHeader.looksLikeADate(20301231));
        assertFalse(LlmcHeader.looksLikeADate(20221231) || LlmcHeader.looksLikeADate(20310101)
                || LlmcHeader.looksLikeADate(20241301) || LlmcHeader.looksLikeADate(20240500));
    }

    @Test
    void aShortFileWithATokenMagicIsTruncated() throws IOException {
        Path file = dir.resolve("short.bin");
        Files.write(file, java.nio.ByteBuffer.allocate(6).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(LlmcHeader.GPT2_MAGIC).putShort((short) 1).array());   // the magic, then half an int
        assertMessage(refused(file), "magic 20240520 but is only 6 bytes", "1024-byte header", "header=none");
    }

    @Test
    void rawIdsThatOnlyLookLikeAHeaderReadWithHeaderNone() throws IOException {
        // uint16 ids 55432, 308 are the int32 20240520, then 1, 0: GPT-2's magic and version by chance
        long[] ids = TokenFiles.counting(1_000, 1_000);
        ids[0] = LlmcHeader.GPT2_MAGIC & 0xFFFF;
        ids[1] = LlmcHeader.GPT2_MAGIC >>> 16;
        ids[2] = 1;
        ids[3] = 0;
        Path lookalike = TokenFiles.write(dir.resolve("lookalike.bin"), TokenDtype.UINT16, ids);
        assertMessage(assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + lookalike + "?dtype=uint16", 4, 65_536, 1)),
                "truncated or corrupt", "header=none");
        assertRawIds(lookalike, ids);

        long[] dated = TokenFiles.counting(1_000, 2_000);
        dated[0] = 20250315 & 0xFFFF;                     // ids 65227, 308: a date-stamped magic by chance
        dated[1] = 20250315 >>> 16;
        Path datedFile = TokenFiles.write(dir.resolve("dated.bin"), TokenDtype.UINT16, dated);
        assertMessage(assertThrows(DatasetException.class,
                () -> Datasets.open("tokens:" + datedFile + "?dtype=uint16", 4, 65_536, 1)), "starts with 20250315");
        assertRawIds(datedFile, dated);
    }

    private static void assertRawIds(Path file, long[] ids) {
        try (MappedTokenFile raw = MappedTokenFile.open(file, file.toString(), TokenDtype.UINT16,
                MappedTokenFile.Header.NONE, MappedTokenFile.CHUNK_BYTES)) {
            assertFalse(raw.hasLlmcHeader());
            assertEquals(ids.length, raw.length());
            long[] got = new long[ids.length];
            raw.read(0, ids.length, got);
            assertTrue(Arrays.equals(ids, got), "raw ids read back as written");
        }
        try (TokenDataset data = Datasets.open("tokens:" + file + "?dtype=uint16&header=none", 4, 65_536, 1)) {
            assertTrue(data.describe().contains("1,000 uint16 tokens") && !data.describe().contains("llm.c"),
                    data.describe());
        }
    }
}
