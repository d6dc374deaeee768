package org.twobp.checkpoints;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import io.jhdf.HdfFile;
import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.Node;

/**
 * Reads run logs back: every rank's published segments, in order, as steps. When a resumed run
 * logged a step again, the later record wins.
 */
public final class RunLogReader {

    private RunLogReader() {
    }

    /** Ranks that have a log folder under {@code logsDir}, ascending. */
    public static List<Integer> ranks(Path logsDir) {
        if (!Files.isDirectory(logsDir)) {
            throw new CheckpointException("no run logs in " + logsDir + " (a run writes them with --run-dir)");
        }
        try (Stream<Path> dirs = Files.list(logsDir)) {
            return dirs.map(p -> p.getFileName().toString()).filter(n -> n.matches("rank-\\d{4}"))
                    .map(n -> Integer.parseInt(n.substring(5))).sorted().toList();
        } catch (IOException e) {
            throw new CheckpointException("cannot list " + logsDir + ": " + e.getMessage(), e);
        }
    }

    /** Every logged step of {@code rank}, by step number. */
    public static List<RunLogStep> read(Path logsDir, int rank) {
        Path dir = RunLogWriter.rankDir(logsDir, rank);
        List<Path> segments;
        try (Stream<Path> files = Files.list(dir)) {
            segments = files.filter(p -> p.getFileName().toString().matches("seg-\\d{6}\\.h5")).sorted().toList();
        } catch (IOException e) {
            throw new CheckpointException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        TreeMap<Long, RunLogStep> byStep = new TreeMap<>();
        for (Path seg : segments) {
            for (RunLogStep s : readSegment(seg)) {
                byStep.put(s.step(), s);
            }
        }
        return new ArrayList<>(byStep.values());
    }

    /** The run-level attributes of a rank's first segment (host, device, versions...). */
    public static Map<String, String> attributes(Path logsDir, int rank) {
        Path dir = RunLogWriter.rankDir(logsDir, rank);
        try (Stream<Path> files = Files.list(dir)) {
            Path first = files.filter(p -> p.getFileName().toString().matches("seg-\\d{6}\\.h5")).sorted().findFirst()
                    .orElseThrow(() -> new CheckpointException("no log segments in " + dir));
            try (HdfFile f = new HdfFile(first)) {
                Map<String, String> out = new LinkedHashMap<>();
                f.getAttributes().forEach((k, v) -> out.put(k, String.valueOf(v.getData())));
                return out;
            }
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + dir + ": " + e.getMessage(), e);
        }
    }

    static List<RunLogStep> readSegment(Path file) {
        try (HdfFile f = new HdfFile(file)) {
            Object format = f.getAttribute("format") == null ? null : f.getAttribute("format").getData();
            if (!RunLogWriter.FORMAT.equals(format)) {
                throw new CheckpointException(file + " is not a twobp run log segment (format " + format + ")");
            }
            Group steps = (Group) f.getChild("steps");
            long[] step = (long[]) ((Dataset) steps.getChild("step")).getData();
            Map<String, double[]> cols = new LinkedHashMap<>();
            for (Map.Entry<String, Node> e : steps.getChildren().entrySet()) {
                if (!e.getKey().equals("step")) {
                    cols.put(e.getKey(), (double[]) ((Dataset) e.getValue()).getData());
                }
            }
            Map<Long, List<RunLogStep.Action>> actions = new LinkedHashMap<>();
            Node a = f.getChild("actions");
            if (a instanceof Group g) {
                long[] as = (long[]) ((Dataset) g.getChild("step")).getData();
                String[] kind = (String[]) ((Dataset) g.getChild("kind")).getData();
                int[] stage = (int[]) ((Dataset) g.getChild("stage")).getData();
                int[] first = (int[]) ((Dataset) g.getChild("first_microbatch")).getData();
                int[] count = (int[]) ((Dataset) g.getChild("microbatches")).getData();
                long[] start = (long[]) ((Dataset) g.getChild("start_ns")).getData();
                long[] end = (long[]) ((Dataset) g.getChild("end_ns")).getData();
                long[] wait = (long[]) ((Dataset) g.getChild("wait_ns")).getData();
                for (int i = 0; i < as.length; i++) {
                    actions.computeIfAbsent(as[i], k -> new ArrayList<>()).add(new RunLogStep.Action(kind[i], stage[i],
                            first[i], count[i], start[i], end[i], wait[i]));
                }
            }
            List<RunLogStep> out = new ArrayList<>();
            for (int r = 0; r < step.length; r++) {
                Map<String, Double> m = new LinkedHashMap<>();
                for (Map.Entry<String, double[]> c : cols.entrySet()) {
                    m.put(c.getKey(), c.getValue()[r]);
                }
                out.add(new RunLogStep(step[r], m, actions.getOrDefault(step[r], List.of())));
            }
            return out;
        } catch (RuntimeException e) {
            if (e instanceof CheckpointException) {
                throw e;
            }
            throw new CheckpointException("cannot read log segment " + file + ": " + e, e);
        }
    }
}
