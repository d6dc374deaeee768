package org.twobp.datasets;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes small token files for tests, in the layouts numpy's tofile and llm.c produce. */
final class TokenFiles {

    private TokenFiles() {
    }

    static Path write(Path file, TokenDtype dtype, long[] ids) throws IOException {
        return write(file, dtype, ids, false);
    }

    /** With {@code llmcHeader}, llm.c's header for the dtype: GPT-2's (uint16) or LLaMA-3's (uint32). */
    static Path write(Path file, TokenDtype dtype, long[] ids, boolean llmcHeader) throws IOException {
        if (!llmcHeader) {
            return write(file, dtype, ids, null);
        }
        return switch (dtype) {
            case UINT16 -> write(file, dtype, ids, new int[] {LlmcHeader.GPT2_MAGIC, 1, ids.length});
            case UINT32 -> write(file, dtype, ids, new int[] {LlmcHeader.LLAMA3_MAGIC, 7, ids.length});
            case UINT8 -> throw new IllegalArgumentException("llm.c writes no uint8 token files");
        };
    }

    /** {@code header} (null: none) as the first int32s of a zero-filled 1024-byte header, then the ids. */
    static Path write(Path file, TokenDtype dtype, long[] ids, int[] header) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((header != null ? 1024 : 0) + ids.length * dtype.bytes())
                .order(ByteOrder.LITTLE_ENDIAN);
        if (header != null) {
            for (int v : header) {
                b.putInt(v);
            }
            b.position(1024);
        }
        for (long id : ids) {
            switch (dtype) {
                case UINT8 -> b.put((byte) id);
                case UINT16 -> b.putShort((short) id);
                case UINT32 -> b.putInt((int) id);
            }
        }
        Files.write(file, b.array());
        return file;
    }

    /** ids[i] = base + i. */
    static long[] counting(int n, long base) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = base + i;
        }
        return ids;
    }
}
