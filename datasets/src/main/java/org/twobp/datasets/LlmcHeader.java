package org.twobp.datasets;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/**
 * The 1024-byte header of llm.c token files (256 little-endian int32: magic 20240520, version
 * 1 = uint16 ids or 2 = uint32 ids, token count, zeros). Raw files written with
 * {@code numpy.ndarray.tofile} have no header.
 */
record LlmcHeader(TokenDtype dtype, long tokens) {

    static final int MAGIC = 20240520;
    static final int BYTES = 1024;

    /** The header of {@code channel}, or null if the file does not start with the llm.c magic. */
    static LlmcHeader read(FileChannel channel, long fileSize, String name) throws IOException {
        if (fileSize < BYTES) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (channel.read(b, b.position()) < 0) {
                return null;
            }
        }
        if (b.getInt(0) != MAGIC) {
            return null;
        }
        int version = b.getInt(4);
        long tokens = Integer.toUnsignedLong(b.getInt(8));
        TokenDtype dtype = version == 1 ? TokenDtype.UINT16 : version == 2 ? TokenDtype.UINT32 : null;
        if (dtype == null || BYTES + tokens * dtype.bytes() != fileSize) {
            throw new DatasetException(name + " starts with the llm.c token-file magic " + MAGIC + " but its header"
                    + " (version " + version + ", " + tokens + " tokens) does not match its size of " + fileSize
                    + " bytes; the file is truncated or corrupt: regenerate it, or add header=none to the data spec if"
                    + " it is a raw token array that only happens to start with these bytes");
        }
        return new LlmcHeader(dtype, tokens);
    }
}
