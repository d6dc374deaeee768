package org.twobp.worker.train;

import java.util.Locale;

import org.tomlj.Toml;

/**
 * Writes TOML that the reader ({@link TomlTables}, tomlj) gives back value for value: every
 * string goes through tomlj's own escaping (quotes, backslashes, newlines, tabs and every other
 * control character become escapes), keys are checked to be bare keys, and floats are written in
 * the shortest form that parses back to the same double. This is the only way the project writes
 * a config file, so a value a user typed can never become a line of its own.
 */
public final class TomlWriter {

    private final StringBuilder out = new StringBuilder();

    /** An optional comment line at the top of the file. */
    public TomlWriter comment(String text) {
        for (String line : text.split("\n", -1)) {
            out.append("# ").append(line.replaceAll("\\p{Cntrl}", " ")).append('\n');
        }
        return this;
    }

    /** Starts {@code [name]}, with a blank line before it unless it is the first thing written. */
    public TomlWriter table(String name) {
        bareKey(name);
        if (out.length() > 0) {
            out.append('\n');
        }
        out.append('[').append(name).append("]\n");
        return this;
    }

    public TomlWriter put(String key, String value) {
        if (value == null) {
            throw new IllegalArgumentException("TOML has no null: key " + key + " needs a value");
        }
        return line(key, quoted(value));
    }

    public TomlWriter put(String key, long value) {
        return line(key, Long.toString(value));
    }

    public TomlWriter put(String key, boolean value) {
        return line(key, Boolean.toString(value));
    }

    public TomlWriter put(String key, double value) {
        return line(key, floatText(value));
    }

    /** The document written so far. */
    @Override
    public String toString() {
        return out.toString();
    }

    /** {@code value} as a TOML basic string, quotes included. */
    public static String quoted(String value) {
        return "\"" + Toml.tomlEscape(value) + "\"";
    }

    /** A double as a TOML float: always with a '.' or an exponent, and inf / nan spelled TOML's way. */
    static String floatText(double v) {
        if (Double.isNaN(v)) {
            return "nan";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        return Double.toString(v).toLowerCase(Locale.ROOT);
    }

    private TomlWriter line(String key, String valueText) {
        bareKey(key);
        out.append(key).append(" = ").append(valueText).append('\n');
        return this;
    }

    private static void bareKey(String key) {
        if (key == null || !key.matches("[A-Za-z0-9_-]+")) {
            throw new IllegalArgumentException("not a bare TOML key: '" + key + "'");
        }
    }
}
