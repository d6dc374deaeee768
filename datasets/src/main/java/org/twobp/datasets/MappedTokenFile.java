package org.twobp.datasets;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A flat little-endian array of uint8, uint16 or uint32 token ids, optionally after an llm.c
 * header (see {@link LlmcHeader}: detected unless the spec says header=none). The file is memory-mapped in chunks of at most {@code chunkBytes} (one mapping is
 * limited to 2 GiB), mapped on first use, so files of any size work and only the pages that
 * windows touch are read.
 */
final class MappedTokenFile implements TokenSource {

    /** Default mapping chunk: 1 GiB, a multiple of every element size. */
    static final int CHUNK_BYTES = 1 << 30;

    /** How the header of a token file is treated: detect llm.c's, require it, or read raw ids only. */
    enum Header { AUTO, LLMC, NONE }

    private final String name;
    private final FileChannel channel;
    private final TokenDtype dtype;
    private final long headerBytes;
    private final long length;
    private final long fileSize;
    private final int chunkBytes;
    private final MappedByteBuffer[] chunks;

    /**
     * @param dtype the element type, or null to take it from an llm.c header
     */
    static MappedTokenFile open(Path path, String name, TokenDtype dtype, Header header, int chunkBytes) {
        FileChannel channel = null;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
            long size = channel.size();
            if (size == 0) {
                throw new DatasetException("data file " + name + " is empty (0 bytes); point the data spec at a file"
                        + " that holds tokens, or regenerate it");
            }
            LlmcHeader llmc = header == Header.NONE ? null : LlmcHeader.read(channel, size, name);
            if (header == Header.LLMC && llmc == null) {
                throw new DatasetException(name + " has no llm.c header (magic " + LlmcHeader.GPT2_MAGIC + " or "
                        + LlmcHeader.LLAMA3_MAGIC + "), but the data spec says header=llmc; remove header=llmc to read"
                        + " it as a raw token array");
            }
            if (llmc != null && dtype != null && dtype != llmc.dtype()) {
                throw new DatasetException(name + " has an llm.c header saying its ids are " + llmc.dtype().specName()
                        + ", but the data spec says dtype=" + dtype.specName() + "; drop dtype= or set dtype="
                        + llmc.dtype().specName());
            }
            if (llmc != null) {
                dtype = llmc.dtype();
            }
            if (dtype == null) {
                throw new DatasetException("the data spec for " + name + " needs the element type of its token ids:"
                        + " add ?dtype=uint16 (GPT-2 style files written from numpy uint16) or ?dtype=uint32");
            }
            long header0 = llmc == null ? 0 : LlmcHeader.BYTES;
            long payload = size - header0;
            if (payload % dtype.bytes() != 0) {
                throw new DatasetException("data file " + name + " is " + size + " bytes"
                        + (header0 > 0 ? " (" + payload + " after its header)" : "")
                        + ", which is not a whole number of " + dtype.specName() + " tokens (" + dtype.bytes()
                        + " bytes each); the file is truncated or holds another dtype: check dtype= in the data spec");
            }
            if (chunkBytes <= 0 || chunkBytes % 4 != 0) {
                throw new IllegalArgumentException("mapping chunk must be a positive multiple of 4 bytes: " + chunkBytes);
            }
            MappedTokenFile file = new MappedTokenFile(name, channel, dtype, header0, size, chunkBytes);
            channel = null;
            return file;
        } catch (IOException e) {
            throw new DatasetException("cannot read data file " + name + ": " + e.getMessage(), e);
        } finally {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // the open already failed; its error is the one to report
                }
            }
        }
    }

    private MappedTokenFile(String name, FileChannel channel, TokenDtype dtype, long headerBytes, long fileSize,
            int chunkBytes) {
        this.name = name;
        this.channel = channel;
        this.dtype = dtype;
        this.headerBytes = headerBytes;
        this.fileSize = fileSize;
        this.length = (fileSize - headerBytes) / dtype.bytes();
        this.chunkBytes = chunkBytes;
        this.chunks = new MappedByteBuffer[(int) ((fileSize + chunkBytes - 1) / chunkBytes)];
    }

    TokenDtype dtype() {
        return dtype;
    }

    boolean hasLlmcHeader() {
        return headerBytes > 0;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public void read(long start, int count, long[] dst) {
        if (start < 0 || count < 0 || start + count > length) {
            throw new IndexOutOfBoundsException("tokens [" + start + ", " + (start + count) + ") of " + length);
        }
        int size = dtype.bytes();
        for (int i = 0; i < count; i++) {
            // Chunks are multiples of 4 bytes and the header is 0 or 1024, so no element straddles two chunks.
            long offset = headerBytes + (start + i) * size;
            MappedByteBuffer chunk = chunk((int) (offset / chunkBytes));
            int at = (int) (offset % chunkBytes);
            dst[i] = switch (size) {
                case 1 -> chunk.get(at) & 0xFFL;
                case 2 -> chunk.getShort(at) & 0xFFFFL;
                default -> chunk.getInt(at) & 0xFFFFFFFFL;
            };
        }
    }

    private MappedByteBuffer chunk(int index) {
        MappedByteBuffer chunk = chunks[index];
        if (chunk == null) {
            long from = (long) index * chunkBytes;
            long size = Math.min(chunkBytes, fileSize - from);
            try {
                chunk = channel.map(FileChannel.MapMode.READ_ONLY, from, size);
            } catch (IOException e) {
                throw new DatasetException("cannot memory-map bytes [" + from + ", " + (from + size) + ") of data file "
                        + name + ": " + e.getMessage(), e);
            }
            chunk.order(ByteOrder.LITTLE_ENDIAN);
            chunks[index] = chunk;
        }
        return chunk;
    }

    @Override
    public String locate(long index) {
        return "token " + index + " (byte offset " + (headerBytes + index * dtype.bytes()) + ") of " + name;
    }

    @Override
    public String describe() {
        return name + ": " + String.format("%,d", length) + " " + dtype.specName() + " tokens"
                + (headerBytes > 0 ? " after an llm.c header" : "");
    }

    @Override
    public String identity() {
        return dtype.specName() + ":" + length + ":" + headerBytes;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing was written through the channel, so there is nothing to lose
        }
    }
}
