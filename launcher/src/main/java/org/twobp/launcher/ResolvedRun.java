package org.twobp.launcher;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.twobp.worker.pipeline.PipelinePlan;
import org.twobp.worker.pipeline.RunConfig;

/**
 * A run's configuration resolved and checked for a rank count before any process starts: the
 * file read, {@code --set} overrides applied, every key and type validated, and the schedule and
 * stage cuts worked out. Any problem is a usage error (exit 2) naming the file, key or count.
 */
record ResolvedRun(Path configFile, Map<String, String> overrides, RunConfig config, int ranks, PipelinePlan plan) {

    /**
     * @param ranksWhy how the rank count came about, for the message ("2 ranks (--nproc)",
     *                 "8 ranks (2 nodes x 4 GPUs)")
     */
    static ResolvedRun resolve(String command, Path configFile, List<String> sets, int ranks, String ranksWhy) {
        if (!Files.exists(configFile)) {
            throw new UsageException(command, "config file " + configFile + " does not exist"
                    + " (ready ones are in configs/, e.g. configs/llama-tiny.toml)");
        }
        if (!Files.isRegularFile(configFile) || !Files.isReadable(configFile)) {
            throw new UsageException(command, "config " + configFile + " is not a readable file");
        }
        Map<String, String> overrides = overrides(command, sets);
        RunConfig config;
        try {
            config = RunConfig.load(configFile, overrides);
        } catch (NumberFormatException e) {
            throw new UsageException(command, "config " + configFile + " with " + describe(overrides)
                    + ": a value is not a number (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            throw new UsageException(command, e.getMessage() + (overrides.isEmpty() ? "" : " (with " + describe(overrides) + ")"));
        }
        PipelinePlan plan;
        try {
            plan = PipelinePlan.of(config, ranks);
        } catch (RuntimeException e) {
            throw new UsageException(command, "this run cannot use " + ranksWhy + ": " + e.getMessage());
        }
        return new ResolvedRun(configFile, overrides, config, ranks, plan);
    }

    /** {@code section.key=value} pairs, in order; a repeated key keeps the last value. */
    static Map<String, String> overrides(String command, List<String> sets) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : sets) {
            int eq = kv.indexOf('=');
            if (eq < 1) {
                throw new UsageException(command, "--set needs section.key=value (e.g. train.steps=20), got '" + kv + "'");
            }
            String key = kv.substring(0, eq).strip();
            if (!key.matches("[a-z_]+\\.[a-z_0-9]+")) {
                throw new UsageException(command, "--set " + kv + ": the key must be section.key, e.g. train.steps or"
                        + " pipeline.schedule");
            }
            m.remove(key);
            m.put(key, kv.substring(eq + 1).strip());
        }
        return m;
    }

    private static String describe(Map<String, String> overrides) {
        StringBuilder s = new StringBuilder();
        overrides.forEach((k, v) -> s.append(s.length() == 0 ? "" : " ").append("--set ").append(k).append('=').append(v));
        return s.toString();
    }

    /** The resolved configuration as saved with the run. */
    String toml() {
        return config.toToml();
    }

    /** The step the run ends at: a committed checkpoint of this step means the run is complete. */
    int finalStep() {
        return config.train().steps();
    }

    /** "2 stages: stage 0 ... -> rank 0", for dry runs. */
    String describeStages() {
        StringBuilder s = new StringBuilder();
        s.append("schedule    ").append(plan.schedule().name()).append(": ").append(ranks).append(" ranks, ")
                .append(plan.schedule().stages()).append(" stages, ").append(plan.schedule().microbatches())
                .append(" micro-batches\n");
        for (String line : plan.describe()) {
            s.append("            ").append(line).append('\n');
        }
        return s.toString();
    }
}
