package org.twobp.datasets;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.Map;

/**
 * The 1024-byte header of llm.c token files: 256 little-endian int32, [0] magic, [1] version,
 * [2] token count, the rest zero; the ids follow. llm.c ({@code dev/data/data_common.py}) writes
 * two kinds, and its readers accept no other version:
 * <pre>
 *   magic 20240520  version 1  GPT-2 ids    uint16   size = 1024 + 2 * count
 *   magic 20240801  version 7  LLaMA-3 ids  uint32   size = 1024 + 4 * count
 * </pre>
 * llm.c's other files start the same way (a yyyymmdd magic, then a version) but hold no token
 * stream: the tokenizer, model weights, eval sets. A file that starts like any llm.c header we
 * do not read is refused rather than read as ids, which would train on the header's bytes.
 * Raw files written with {@code numpy.ndarray.tofile} have no header; {@code header=none}
 * reads any file so.
 */
record LlmcHeader(TokenDtype dtype, long tokens) {

    static final int GPT2_MAGIC = 20240520;
    static final int LLAMA3_MAGIC = 20240801;
    static final int BYTES = 1024;

    /** llm.c files with a header like ours that hold something else than a token stream. */
    private static final Map<Integer, String> OTHER_FILES = Map.of(
            20240328, "an llm.c tokenizer file (tokenizer.bin: the vocabulary's byte strings)",
            20240326, "an llm.c GPT-2 model file (weights, e.g. gpt2_124M.bin)",
            20240803, "an llm.c LLaMA-3 model file (weights)",
            20240522, "an llm.c eval file (multiple-choice examples, e.g. hellaswag_val.bin)");

    private static final String RAW_ANYWAY = "add header=none to the data spec (with dtype=) only if the file really is"
            + " a raw array of token ids whose first ids happen to look like a header";

    /**
     * The header of {@code channel}, or null if the file does not start like an llm.c file;
     * fails for an llm.c-looking start that is not a token file header this reader knows.
     */
    static LlmcHeader read(FileChannel channel, long fileSize, String name) throws IOException {
        if (fileSize < 4) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(12, fileSize)).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (channel.read(b, b.position()) < 0) {
                return null;
            }
        }
        int magic = b.getInt(0);
        boolean tokens = magic == GPT2_MAGIC || magic == LLAMA3_MAGIC;
        if (!tokens && !looksLikeADate(magic)) {   // every llm.c magic is a date
            return null;
        }
        String then = b.limit() >= 8 ? ", version " + b.getInt(4) : "";
        if (OTHER_FILES.containsKey(magic)) {
            throw new DatasetException(name + " is " + OTHER_FILES.get(magic) + " (magic " + magic + then
                    + "), not a token file: point the data spec at the token shards (llm.c's dev/data scripts write"
                    + " e.g. fineweb_train_000001.bin)");
        }
        if (!tokens) {
            throw new DatasetException(name + " starts with " + magic + then + ", which reads as the date-stamped"
                    + " magic number of an llm.c file, but not of one this reader knows: token files have magic "
                    + GPT2_MAGIC + " (GPT-2, uint16) or " + LLAMA3_MAGIC + " (LLaMA-3, uint32). Write the tokens with"
                    + " llm.c's write_datafile, or " + RAW_ANYWAY);
        }
        TokenDtype dtype = magic == GPT2_MAGIC ? TokenDtype.UINT16 : TokenDtype.UINT32;
        int known = magic == GPT2_MAGIC ? 1 : 7;
        if (fileSize < BYTES) {
            throw new DatasetException(name + " starts with the llm.c token-file magic " + magic + " but is only "
                    + fileSize + " bytes, shorter than the " + BYTES + "-byte header; the file is truncated: regenerate"
                    + " it, or " + RAW_ANYWAY);
        }
        int version = b.getInt(4);
        if (version != known) {
            throw new DatasetException(name + " starts with the llm.c token-file magic " + magic + " but says version "
                    + version + "; llm.c writes " + magic + " files as version " + known + " (" + dtype.specName()
                    + " ids) only, so this file was written by something else or is corrupt: regenerate it with"
                    + " llm.c's dev/data scripts, or " + RAW_ANYWAY);
        }
        long count = Integer.toUnsignedLong(b.getInt(8));
        if (BYTES + count * dtype.bytes() != fileSize) {
            throw new DatasetException(name + " has the llm.c token-file header of magic " + magic + ", version "
                    + version + " (" + dtype.specName() + " ids) for " + count + " tokens, which makes "
                    + (BYTES + count * dtype.bytes()) + " bytes with the header, but the file has " + fileSize
                    + "; it is truncated or corrupt: regenerate it, or " + RAW_ANYWAY);
        }
        return new LlmcHeader(dtype, count);
    }

    /** yyyymmdd from 2023 to 2030, the form of every llm.c magic number. */
    static boolean looksLikeADate(int magic) {
        int year = magic / 10_000;
        int month = magic / 100 % 100;
        int day = magic % 100;
        return year >= 2023 && year <= 2030 && month >= 1 && month <= 12 && day >= 1 && day <= 31;
    }
}
