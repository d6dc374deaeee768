package org.twobp.worker.pipeline;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.train.TomlWriter;

/**
 * The [pipeline] table of a run configuration: which schedule runs, with or without 2BP, and
 * how the model is cut into stages.
 *
 * <pre>
 *   schedule        1f1b-1 | 1f1b-2 | gpipe | naive | interleaved | 1f1b-2-capped | zb-h1 | zb-h2 | zb-v
 *   two_bp          true: p1 and p2 split (2BP); false: fused backward (the baseline)
 *   microbatches    micro-batches per step; 0 = the schedule's own (P for 1F1B-1, 2P for 1F1B-2, ...).
 *                   Each micro-batch has batch_size / micro_batches sequences of the [train] table,
 *                   so the global batch is microbatches x that.
 *   chunks          model chunks per rank for interleaved and zb-v (0 = 2 for those, 1 otherwise)
 *   stash_cap       live stashes per rank for 1f1b-2-capped (0 = P)
 *   partition       balanced (by estimated FLOPs), equal (equal transformer blocks per stage,
 *                   the paper's), or block counts per stage, e.g. "3,3,4" (embedding and head count)
 *   timeout_s       longest wait for a peer before the run fails (default 600)
 * </pre>
 */
public record PipelineConfig(String schedule, boolean twoBp, int microbatches, int chunks, int stashCap,
                             String partition, double timeoutSeconds) {

    public static final List<String> KEYS = List.of("schedule", "two_bp", "microbatches", "chunks", "stash_cap",
            "partition", "timeout_s");

    public PipelineConfig {
        List<String> problems = new ArrayList<>();
        try {
            ScheduleFamily.byName(schedule);
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
        }
        if (microbatches < 0) {
            problems.add("microbatches must be >= 0 (0 = the schedule's own), got " + microbatches);
        }
        if (chunks < 0) {
            problems.add("chunks must be >= 0, got " + chunks);
        }
        if (stashCap < 0) {
            problems.add("stash_cap must be >= 0, got " + stashCap);
        }
        if (!(timeoutSeconds > 0)) {
            problems.add("timeout_s must be > 0, got " + timeoutSeconds);
        }
        try {
            Partitioner.checkSpec(partition);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid [pipeline] settings: " + String.join("; ", problems));
        }
    }

    public static Map<String, Object> defaults() {
        Map<String, Object> d = new TreeMap<>();
        d.put("schedule", "1f1b-1");
        d.put("two_bp", true);
        d.put("microbatches", 0L);
        d.put("chunks", 0L);
        d.put("stash_cap", 0L);
        d.put("partition", "balanced");
        d.put("timeout_s", 600.0);
        return d;
    }

    /** The [pipeline] table of a TOML file (absent: all defaults). */
    public static Map<String, Object> readTable(Path file) {
        return org.twobp.worker.train.TomlTables.read(file, "pipeline", KEYS);
    }

    public static PipelineConfig of(Map<String, Object> values) {
        Map<String, Object> v = defaults();
        for (Map.Entry<String, Object> e : values.entrySet()) {
            if (!KEYS.contains(e.getKey())) {
                throw new IllegalArgumentException("unknown pipeline setting " + e.getKey() + "; known: " + KEYS);
            }
            v.put(e.getKey(), e.getValue());
        }
        return new PipelineConfig(String.valueOf(v.get("schedule")).toLowerCase(Locale.ROOT), bool(v, "two_bp"),
                (int) number(v, "microbatches"), (int) number(v, "chunks"), (int) number(v, "stash_cap"),
                String.valueOf(v.get("partition")), number(v, "timeout_s"));
    }

    public ScheduleFamily family() {
        return ScheduleFamily.byName(schedule);
    }

    /** Micro-batches per step on {@code ranks} ranks. */
    public int microbatches(int ranks) {
        return microbatches > 0 ? microbatches : family().presetMicrobatches(ranks);
    }

    /** Chunks (stages) per rank. */
    public int chunksPerRank() {
        if (chunks > 0) {
            return chunks;
        }
        ScheduleFamily f = family();
        return f == ScheduleFamily.INTERLEAVED || f == ScheduleFamily.ZB_V ? 2 : 1;
    }

    public int stashCap(int ranks) {
        return stashCap > 0 ? stashCap : ranks;
    }

    public PipelineConfig with(String schedule, boolean twoBp) {
        return new PipelineConfig(schedule, twoBp, microbatches, chunks, stashCap, partition, timeoutSeconds);
    }

    public String toToml() {
        return toToml(new TomlWriter()).toString();
    }

    /** Appends the [pipeline] table to {@code w}. */
    public TomlWriter toToml(TomlWriter w) {
        return w.table("pipeline").put("schedule", schedule).put("two_bp", twoBp).put("microbatches", microbatches)
                .put("chunks", chunks).put("stash_cap", stashCap).put("partition", partition)
                .put("timeout_s", timeoutSeconds);
    }

    private static boolean bool(Map<String, Object> v, String key) {
        Object o = v.get(key);
        if (o instanceof Boolean b) {
            return b;
        }
        String s = String.valueOf(o).strip().toLowerCase(Locale.ROOT);
        if (s.equals("true") || s.equals("false")) {
            return Boolean.parseBoolean(s);
        }
        throw new IllegalArgumentException(key + " must be true or false, got \"" + o + "\"");
    }

    private static double number(Map<String, Object> v, String key) {
        Object o = v.get(key);
        if (o instanceof Number n) {
            return n.doubleValue();
        }
        try {
            return Double.parseDouble(String.valueOf(o).strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, got \"" + o + "\"", e);
        }
    }
}
