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

    static Path write(Path file, TokenDtype dtype, long[] ids, boolean llmcHeader) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((llmcHeader ? 1024 : 0) + ids.length * dtype.bytes())
                .order(ByteOrder.LITTLE_ENDIAN);
        if (llmcHeader) {
            b.putInt(LlmcHeader.MAGIC).putInt(dtype == TokenDtype.UINT16 ? 1 : 2).putInt(ids.length);
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
