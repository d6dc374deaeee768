package org.twobp.worker.pipeline;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.twobp.worker.train.TomlWriter;


/**
 * The [checkpoint] table: {@code every} steps between checkpoints (0 = only at the end of the
 * run and when a stop is requested), {@code keep_last} newest complete ones kept (at least 2),
 * and every {@code keep_every}-th step kept for good (0 = none).
 */
public record CheckpointConfig(int every, int keepLast, long keepEvery) {

    public static final List<String> KEYS = List.of("every", "keep_last", "keep_every");

    public CheckpointConfig {
        if (every < 0) {
            throw new IllegalArgumentException("invalid [checkpoint] settings: every must be >= 0, got " + every);
        }
        if (keepLast < 2) {
            throw new IllegalArgumentException("invalid [checkpoint] settings: keep_last must be >= 2 (a newer"
                    + " checkpoint may be incomplete when a job dies), got " + keepLast);
        }
        if (keepEvery < 0) {
            throw new IllegalArgumentException("invalid [checkpoint] settings: keep_every must be >= 0, got " + keepEvery);
        }
    }

    public static Map<String, Object> readTable(Path file) {
        return org.twobp.worker.train.TomlTables.read(file, "checkpoint", KEYS);
    }

    public static CheckpointConfig of(Map<String, Object> values) {
        Map<String, Object> v = new TreeMap<>(Map.of("every", 0L, "keep_last", 2L, "keep_every", 0L));
        for (Map.Entry<String, Object> e : values.entrySet()) {
            if (!KEYS.contains(e.getKey())) {
                throw new IllegalArgumentException("unknown checkpoint setting " + e.getKey() + "; known: " + KEYS);
            }
            v.put(e.getKey(), e.getValue());
        }
        return new CheckpointConfig((int) integer(v, "every"), (int) integer(v, "keep_last"), integer(v, "keep_every"));
    }

    private static long integer(Map<String, Object> v, String key) {
        Object o = v.get(key);
        try {
            double d = o instanceof Number n ? n.doubleValue() : Double.parseDouble(String.valueOf(o).strip());
            if (d != Math.rint(d)) {
                throw new NumberFormatException();
            }
            return (long) d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("[checkpoint] " + key + " must be an integer, got \"" + o + "\"", e);
        }
    }

    public String toToml() {
        return toToml(new TomlWriter()).toString();
    }

    /** Appends the [checkpoint] table to {@code w}. */
    public TomlWriter toToml(TomlWriter w) {
        return w.table("checkpoint").put("every", every).put("keep_last", keepLast).put("keep_every", keepEvery);
    }
}
