package org.twobp.worker.analysis;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.twobp.checkpoints.RunLogReader;
import org.twobp.checkpoints.RunLogStep;

/** One run folder's logs, every rank's steps, and the statistics the summary table shows. */
record RunSummary(Path dir, Map<Integer, List<RunLogStep>> ranks, String config) {

    static RunSummary load(Path runDir) {
        Path logs = runDir.resolve("logs");
        if (!Files.isDirectory(logs)) {
            throw new IllegalArgumentException(runDir + " has no logs/ folder: is it a run folder (WorkerMain --run-dir)?");
        }
        Map<Integer, List<RunLogStep>> ranks = new LinkedHashMap<>();
        for (int r : RunLogReader.ranks(logs)) {
            ranks.put(r, RunLogReader.read(logs, r));
        }
        if (ranks.isEmpty() || ranks.values().stream().allMatch(List::isEmpty)) {
            throw new IllegalArgumentException(runDir + "/logs holds no published steps yet");
        }
        String config = "";
        try {
            Path c = runDir.resolve("config.toml");
            config = Files.exists(c) ? Files.readString(c) : "";
        } catch (java.io.IOException e) {
            // the summary does without it
        }
        return new RunSummary(runDir, ranks, config);
    }

    /** Rank 0's steps (global metrics are the same on every rank). */
    List<RunLogStep> lead() {
        return ranks.values().iterator().next();
    }

    /** Steps after the first {@code skip} (warm-up). */
    List<RunLogStep> timed(List<RunLogStep> steps, int skip) {
        return steps.size() > skip ? steps.subList(skip, steps.size()) : steps;
    }

    double[] column(List<RunLogStep> steps, String metric) {
        return steps.stream().mapToDouble(s -> s.metrics().getOrDefault(metric, Double.NaN)).filter(d -> !Double.isNaN(d))
                .toArray();
    }

    static double quantile(double[] values, double q) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] v = values.clone();
        Arrays.sort(v);
        double pos = q * (v.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = (int) Math.ceil(pos);
        return v[lo] + (v[hi] - v[lo]) * (pos - lo);
    }

    static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    /** Metric names of memory peaks by category, as logged. */
    List<String> memoryCategories() {
        List<String> out = new ArrayList<>();
        for (String k : lead().get(0).metrics().keySet()) {
            if (k.startsWith("mem_peak_") && !k.equals("mem_peak_total")) {
                out.add(k.substring("mem_peak_".length()));
            }
        }
        return out;
    }
}
