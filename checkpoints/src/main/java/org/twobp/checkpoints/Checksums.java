package org.twobp.checkpoints;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * CRC-32 (the zlib polynomial) over a tensor's float32 values in little-endian byte order, which
 * are exactly the bytes of the HDF5 dataset: a user can check one in Python with
 * {@code zlib.crc32(f["tensors/NAME/value"][()].astype("<f4").tobytes())}. Also over whole files,
 * for the manifest.
 */
final class Checksums {

    private static final int CHUNK_BYTES = 1 << 20;

    private Checksums() {
    }

    /** A running checksum over several slices (the parts of a split tensor). */
    static final class Running {
        private final CRC32 crc = new CRC32();
        private final ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);

        Running update(float[] a, int offset, int length) {
            int perChunk = CHUNK_BYTES / Float.BYTES;
            for (int done = 0; done < length; done += perChunk) {
                int n = Math.min(perChunk, length - done);
                buf.clear();
                buf.asFloatBuffer().put(a, offset + done, n);
                buf.limit(n * Float.BYTES);
                crc.update(buf);
            }
            return this;
        }

        long value() {
            return crc.getValue();
        }
    }

    static long of(FloatSlice s) {
        return new Running().update(s.array(), s.offset(), s.length()).value();
    }

    static long of(float[] a) {
        return new Running().update(a, 0, a.length).value();
    }

    static long ofFile(Path file) {
        CRC32 crc = new CRC32();
        ByteBuffer buf = ByteBuffer.allocateDirect(4 * CHUNK_BYTES);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf.clear()) >= 0) {
                crc.update(buf.flip());
            }
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + " to checksum it: " + e.getMessage(), e);
        }
        return crc.getValue();
    }

    static String hex(long crc) {
        return String.format(Locale.ROOT, "%08x", crc);
    }

    static long parseHex(String text) {
        if (text.length() != 8) {
            throw new NumberFormatException("a CRC-32 is 8 hex digits, got '" + text + "'");
        }
        return Long.parseLong(text, 16);
    }
}
