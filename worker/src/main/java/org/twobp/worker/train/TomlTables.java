package org.twobp.worker.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.tomlj.Toml;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

/** Reads one table of a run's TOML file, refusing keys it does not know. */
public final class TomlTables {

    private TomlTables() {
    }

    /**
     * Refuses anything at the top level of {@code file} but the tables {@code known}: a misspelt
     * {@code [pipelin]} or a key outside any table would otherwise be ignored without a word.
     */
    public static void checkTables(Path file, List<String> known) {
        TomlParseResult toml = parse(file);
        for (String key : toml.keySet()) {
            if (known.contains(key) && toml.isTable(key)) {
                continue;
            }
            String hint = known.stream().filter(k -> editDistance(k, key) <= 2).findFirst()
                    .map(k -> " (did you mean [" + k + "]?)").orElse("");
            throw new IllegalArgumentException("config " + file + ": " + (toml.isTable(key) ? "unknown table [" + key + "]"
                    : "key '" + key + "' outside any table") + hint + "; a run config has the tables "
                    + String.join(", ", known.stream().map(k -> "[" + k + "]").toList()));
        }
    }

    /** Levenshtein distance, for suggestions. */
    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static TomlParseResult parse(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            String why = e instanceof NoSuchFileException ? "no such file" : e.toString();
            throw new IllegalArgumentException("cannot read config " + file + ": " + why, e);
        }
        TomlParseResult toml = Toml.parse(text);
        if (toml.hasErrors()) {
            throw new IllegalArgumentException("config " + file + " is not valid TOML: " + toml.errors().get(0));
        }
        return toml;
    }

    /** The keys of {@code [table]} with their TOML values; empty when the table is absent. */
    public static Map<String, Object> read(Path file, String table, List<String> known) {
        TomlParseResult toml = parse(file);
        Map<String, Object> out = new TreeMap<>();
        TomlTable t = toml.getTable(table);
        if (t != null) {
            for (String key : t.keySet()) {
                if (!known.contains(key)) {
                    throw new IllegalArgumentException("config " + file + ": unknown key [" + table + "]." + key
                            + "; known keys are " + known);
                }
                out.put(key, t.get(key));
            }
        }
        return out;
    }
}
