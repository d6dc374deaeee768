package org.twobp.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Which rank made a run fail, and the tail of its log. Sources, best first: a rank's own
 * {@code [twobp] rank R (stage S) failed ...} line; mpirun's {@code MPI_ABORT was invoked on rank R}
 * or {@code process rank R ... exited on signal N}; else the exit code and every rank's last lines.
 *
 * <p>Per-rank logs are those of {@code mpirun --output-filename DIR}: {@code DIR/1/rank.R/stdout}
 * (with stderr merged in), or one combined log whose lines carry {@code R: } labels
 * ({@code srun --label}).
 */
record FailureReport(Integer rank, String summary, Path rankLog, List<String> tail) {

    private static final Pattern RANK_LINE = Pattern.compile("\\[twobp\\] (rank (\\d+)\\b.*)");
    private static final Pattern ABORT = Pattern.compile("MPI_ABORT was invoked on rank (\\d+)");
    private static final Pattern KILLED = Pattern.compile("process rank (\\d+) with PID \\d+ on node (\\S+) exited on"
            + " signal (\\d+) \\(([^)]*)\\)");
    private static final Pattern LABELLED = Pattern.compile("^\\s*(\\d+): ?(.*)$");
    static final int TAIL = 20;

    /** Per-rank logs of one attempt, by rank. */
    static Map<Integer, List<String>> rankLogs(Path attemptDir) {
        Map<Integer, List<String>> logs = new TreeMap<>();
        Path job = attemptDir.resolve("1");
        if (!Files.isDirectory(job)) {
            return logs;
        }
        try (Stream<Path> dirs = Files.list(job)) {
            for (Path d : dirs.toList()) {
                Matcher m = Pattern.compile("rank\\.(\\d+)").matcher(d.getFileName().toString());
                if (m.matches() && Files.isRegularFile(d.resolve("stdout"))) {
                    logs.put(Integer.parseInt(m.group(1)), readLines(d.resolve("stdout")));
                }
            }
        } catch (IOException e) {
            // a report without logs still names the exit code
        }
        return logs;
    }

    /** Lines of a labelled log ({@code srun --label}), split by rank. */
    static Map<Integer, List<String>> splitLabelled(List<String> lines) {
        Map<Integer, List<String>> logs = new TreeMap<>();
        for (String l : lines) {
            Matcher m = LABELLED.matcher(l);
            if (m.matches()) {
                logs.computeIfAbsent(Integer.parseInt(m.group(1)), r -> new ArrayList<>()).add(m.group(2));
            }
        }
        return logs;
    }

    /**
     * @param logs        each rank's log lines
     * @param launcherLog what mpirun or srun printed themselves (may also hold rank lines)
     * @param logPath     where rank R's log lies, for the message (null: not in a file of its own)
     */
    static FailureReport of(int exitCode, Map<Integer, List<String>> logs, List<String> launcherLog,
                            java.util.function.IntFunction<Path> logPath) {
        Integer rank = null;
        String why = null;
        // a rank's own message; one that failed in an action beats peers that only lost it
        for (boolean actionOnly : new boolean[] {true, false}) {
            for (Map.Entry<Integer, List<String>> e : logs.entrySet()) {
                for (String l : e.getValue()) {
                    Matcher m = RANK_LINE.matcher(l);
                    if (m.find() && l.contains("failed") && (!actionOnly || l.contains(" in action "))) {
                        rank = Integer.parseInt(m.group(2));
                        why = m.group(1);
                        break;
                    }
                }
                if (rank != null) {
                    break;
                }
            }
            if (rank != null) {
                break;
            }
        }
        if (rank == null) {
            for (String l : launcherLog) {
                Matcher m = RANK_LINE.matcher(l);
                if (m.find() && l.contains("failed")) {
                    rank = Integer.parseInt(m.group(2));
                    why = m.group(1);
                    break;
                }
            }
        }
        if (rank == null) {
            for (String l : launcherLog) {
                Matcher k = KILLED.matcher(l);
                if (k.find()) {
                    rank = Integer.parseInt(k.group(1));
                    why = "rank " + rank + " was killed by signal " + k.group(3) + " (" + k.group(4) + ") on " + k.group(2)
                            + (k.group(3).equals("9") ? ": out of memory, or killed from outside" : "");
                    break;
                }
                Matcher a = ABORT.matcher(l);
                if (a.find()) {
                    rank = Integer.parseInt(a.group(1));
                    why = "rank " + rank + " aborted the job";
                    break;
                }
            }
        }
        if (rank == null) {
            List<String> tail = new ArrayList<>();
            for (Map.Entry<Integer, List<String>> e : logs.entrySet()) {
                List<String> l = e.getValue();
                for (String line : l.subList(Math.max(0, l.size() - 3), l.size())) {
                    tail.add("rank " + e.getKey() + ": " + line);
                }
            }
            return new FailureReport(null, "the ranks exited with code " + exitCode + "; no rank reported an error",
                    null, tail);
        }
        List<String> own = logs.getOrDefault(rank, List.of());
        List<String> tail = new ArrayList<>(own.subList(Math.max(0, own.size() - TAIL), own.size()));
        return new FailureReport(rank, why, logPath == null ? null : logPath.apply(rank), tail);
    }

    /** The report as printed: the verdict, then the tail of the failing rank's log, indented. */
    String render() {
        StringBuilder s = new StringBuilder();
        s.append("failed: ").append(summary).append('\n');
        if (!tail.isEmpty()) {
            s.append(rank == null ? "last lines of every rank:\n"
                    : "last " + tail.size() + " lines of rank " + rank + "'s log" + (rankLog == null ? "" : " (" + rankLog + ")")
                    + ":\n");
            for (String l : tail) {
                s.append("    ").append(l).append('\n');
            }
        }
        return s.toString();
    }

    static List<String> readLines(Path f) {
        try {
            return Files.readAllLines(f, StandardCharsets.UTF_8);
        } catch (IOException e) {
            try {
                return new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).lines().toList();
            } catch (IOException e2) {
                return List.of();
            }
        }
    }
}
