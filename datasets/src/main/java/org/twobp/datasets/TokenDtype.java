package org.twobp.datasets;

import java.util.Locale;

/** Element type of a flat little-endian token file. */
public enum TokenDtype {
    UINT8(1),
    UINT16(2),
    UINT32(4);

    private final int bytes;

    TokenDtype(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** Largest id this type can hold, plus one. */
    public long idLimit() {
        return 1L << (8 * bytes);
    }

    /** The name used in data specs: uint8, uint16, uint32. */
    public String specName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TokenDtype parse(String name) {
        for (TokenDtype t : values()) {
            if (t.specName().equalsIgnoreCase(name.trim())) {
                return t;
            }
        }
        throw new DatasetException("unknown token dtype '" + name + "'; token files hold little-endian unsigned ids:"
                + " use dtype=uint16 (vocabularies up to 65536, e.g. GPT-2) or dtype=uint32 (larger ones)");
    }
}
