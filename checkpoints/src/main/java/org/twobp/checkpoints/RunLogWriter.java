package org.twobp.checkpoints;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import io.jhdf.HdfFile;
import io.jhdf.WritableHdfFile;
import io.jhdf.api.WritableGroup;

/**
 * A rank's run log: steps kept in memory and published as immutable HDF5 segments
 * ({@code logs/rank-0003/seg-000012.h5}), each written once under a temporary name, forced to
 * disk and renamed, every {@code segmentSteps} steps, at exit and on a failure. jhdf cannot
 * append, so this is how a log grows; a crash loses at most the open segment.
 *
 * <pre>
 * /                 attrs format "twobp-runlog", format_version, rank, first_step, last_step, and the run's
 *                   attributes (host, device, versions...); dataset config (the resolved configuration)
 * /steps/step       long[rows]
 * /steps/NAME       double[rows], one per metric
 * /actions/...      one row per timed action: step (long), kind (string), stage, first_microbatch,
 *                   microbatches (int), start_ns, end_ns, wait_ns (long)
 * </pre>
 */
public final class RunLogWriter implements AutoCloseable {

    public static final String FORMAT = "twobp-runlog";
    public static final int FORMAT_VERSION = 1;

    private final Path dir;
    private final int rank;
    private final int segmentSteps;
    private final Map<String, String> attributes;
    private final String config;
    private final List<RunLogStep> pending = new ArrayList<>();
    private int nextSegment;

    public RunLogWriter(Path logsDir, int rank, int segmentSteps, Map<String, String> attributes, String config) {
        if (segmentSteps < 1) {
            throw new CheckpointException("a log segment needs at least one step, got " + segmentSteps);
        }
        this.dir = rankDir(logsDir, rank);
        this.rank = rank;
        this.segmentSteps = segmentSteps;
        this.attributes = Map.copyOf(attributes);
        this.config = config == null ? "" : config;
        try {
            Files.createDirectories(dir);
            // a resumed run continues the numbering after what an earlier attempt published
            try (Stream<Path> files = Files.list(dir)) {
                nextSegment = files.map(p -> p.getFileName().toString()).filter(n -> n.matches("seg-\\d{6}\\.h5"))
                        .mapToInt(n -> Integer.parseInt(n.substring(4, 10)) + 1).max().orElse(0);
            }
        } catch (IOException e) {
            throw new CheckpointException("cannot create the log folder " + dir + ": " + e.getMessage(), e);
        }
    }

    static Path rankDir(Path logsDir, int rank) {
        return logsDir.resolve(String.format("rank-%04d", rank));
    }

    /** Records a step; publishes a segment once {@code segmentSteps} steps are pending. */
    public void append(RunLogStep step) {
        pending.add(step);
        if (pending.size() >= segmentSteps) {
            flush();
        }
    }

    /** Publishes the pending steps as one segment (nothing when none are pending). */
    public void flush() {
        if (pending.isEmpty()) {
            return;
        }
        Path target = dir.resolve(String.format("seg-%06d.h5", nextSegment));
        Path tmp = CheckpointPaths.temporaryFor(target);
        try {
            write(tmp);
            DurableFiles.publish(tmp, target);
        } catch (IOException e) {
            DurableFiles.deleteQuietly(tmp);
            throw new CheckpointException("cannot write log segment " + target + ": " + e.getMessage()
                    + "; check free space and permissions", e);
        } catch (RuntimeException | Error e) {
            DurableFiles.deleteQuietly(tmp);
            throw e;
        }
        nextSegment++;
        pending.clear();
    }

    private void write(Path file) {
        int rows = pending.size();
        Set<String> names = new LinkedHashSet<>();
        int actionRows = 0;
        for (RunLogStep s : pending) {
            names.addAll(s.metrics().keySet());
            actionRows += s.actions().size();
        }
        try (WritableHdfFile f = HdfFile.write(file)) {
            f.putAttribute("format", FORMAT);
            f.putAttribute("format_version", FORMAT_VERSION);
            f.putAttribute("rank", rank);
            f.putAttribute("first_step", pending.get(0).step());
            f.putAttribute("last_step", pending.get(rows - 1).step());
            for (Map.Entry<String, String> a : attributes.entrySet()) {
                f.putAttribute(a.getKey(), a.getValue());
            }
            f.putDataset("config", config);
            WritableGroup steps = f.putGroup("steps");
            long[] stepColumn = new long[rows];
            for (int r = 0; r < rows; r++) {
                stepColumn[r] = pending.get(r).step();
            }
            steps.putDataset("step", stepColumn);
            for (String name : names) {
                double[] col = new double[rows];
                for (int r = 0; r < rows; r++) {
                    col[r] = pending.get(r).metrics().getOrDefault(name, Double.NaN);
                }
                steps.putDataset(name, col);
            }
            if (actionRows > 0) { // jhdf cannot read back an empty group
                long[] step = new long[actionRows];
                String[] kind = new String[actionRows];
                int[] stage = new int[actionRows];
                int[] first = new int[actionRows];
                int[] count = new int[actionRows];
                long[] start = new long[actionRows];
                long[] end = new long[actionRows];
                long[] wait = new long[actionRows];
                int i = 0;
                for (RunLogStep s : pending) {
                    for (RunLogStep.Action a : s.actions()) {
                        step[i] = s.step();
                        kind[i] = a.kind();
                        stage[i] = a.stage();
                        first[i] = a.firstMicrobatch();
                        count[i] = a.microbatches();
                        start[i] = a.startNanos();
                        end[i] = a.endNanos();
                        wait[i] = a.waitNanos();
                        i++;
                    }
                }
                WritableGroup g = f.putGroup("actions");
                g.putDataset("step", step);
                g.putDataset("kind", kind);
                g.putDataset("stage", stage);
                g.putDataset("first_microbatch", first);
                g.putDataset("microbatches", count);
                g.putDataset("start_ns", start);
                g.putDataset("end_ns", end);
                g.putDataset("wait_ns", wait);
            }
        }
    }

    @Override
    public void close() {
        flush();
    }
}
