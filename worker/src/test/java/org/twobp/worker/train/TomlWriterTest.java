package org.twobp.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.tomlj.Toml;
import org.tomlj.TomlParseResult;

/** What the writer writes, tomlj reads back value for value; nothing a value holds starts a line. */
class TomlWriterTest {

    static final List<String> HOSTILE = List.of("plain", "a\"b", "back\\slash", "new\nline", "tab\tx", "cr\rx",
            "nul\u0000x", "bell\u0007x", "del\u007fx", "\"\n[model]\ndim = 128\n#", "ünïcødé 名前", "'single'", "",
            "x".repeat(4096), "\u2028sep");

    @Test
    void stringsComeBackAsWritten() {
        for (String v : HOSTILE) {
            String text = new TomlWriter().table("t").put("k", v).toString();
            TomlParseResult r = Toml.parse(text);
            assertFalse(r.hasErrors(), text + ": " + r.errors());
            assertEquals(v, r.getString("t.k"), text);
            assertEquals(List.of("t"), List.copyOf(r.keySet()), "one table only: " + text);
            assertEquals(2, text.split("\n").length, "two lines: " + text);
        }
    }

    @Test
    void numbersComeBackExactly() {
        double[] ds = {0.0, -0.0, 1.0, 3e-4, 6e-3, 1e-8, 0.1, 1.0 / 3, 1e300, 4.9e-324, 10000.0, 123456789.125};
        for (double d : ds) {
            TomlParseResult r = Toml.parse(new TomlWriter().table("t").put("d", d).toString());
            assertEquals(Double.doubleToLongBits(d), Double.doubleToLongBits(r.getDouble("t.d")), "float " + d);
        }
        TomlParseResult r = Toml.parse(new TomlWriter().table("t").put("inf", Double.POSITIVE_INFINITY)
                .put("ninf", Double.NEGATIVE_INFINITY).put("nan", Double.NaN).put("l", Long.MIN_VALUE).put("b", true)
                .toString());
        assertEquals(Double.POSITIVE_INFINITY, r.getDouble("t.inf"));
        assertEquals(Double.NEGATIVE_INFINITY, r.getDouble("t.ninf"));
        assertEquals(true, Double.isNaN(r.getDouble("t.nan")));
        assertEquals(Long.MIN_VALUE, r.getLong("t.l"));
        assertEquals(true, r.getBoolean("t.b"));
    }

    @Test
    void keysAndCommentsCannotCarryLines() {
        assertThrows(IllegalArgumentException.class, () -> new TomlWriter().put("a\nb", 1));
        assertThrows(IllegalArgumentException.class, () -> new TomlWriter().table("x]\n[y"));
        assertThrows(IllegalArgumentException.class, () -> new TomlWriter().put("k", (String) null));
        String text = new TomlWriter().comment("one\ntwo\rthree").put("k", 1).toString();
        assertEquals(1L, Toml.parse(text).getLong("k"));
        assertEquals(3, text.split("\n").length, text);
    }
}
