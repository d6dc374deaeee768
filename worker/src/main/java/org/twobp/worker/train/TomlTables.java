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

    /** The keys of {@code [table]} with their TOML values; empty when the table is absent. */
    public static Map<String, Object> read(Path file, String table, List<String> known) {
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
