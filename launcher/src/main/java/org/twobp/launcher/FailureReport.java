package org.twobp.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.twobp.mpi.TransportException;
import org.twobp.worker.pipeline.StalledWait;

/**
 * Which rank made a run fail, and the tail of its log. Sources, best first: a rank's own
 * {@code [twobp] rank R (stage S) failed ...} line; mpirun's {@code process rank R ... exited on
 * signal N}; the ranks' timeout lines ({@link StalledWait}), from which the rank that the others
 * waited for and that said nothing itself is named as the one that stopped responding (a rank
 * that only waited is a victim, never the cause); mpirun's {@code MPI_ABORT was invoked on rank R};
 * else the exit code and every rank's last lines.
 *
 * <p>Per-rank logs are those of {@code mpirun --output-filename DIR}: {@code DIR/1/rank.R/stdout}
 * (with stderr merged in), or one combined log whose lines carry {@code R: } labels
 * ({@code srun --label}).
 *
 * @param waits for a rank that stopped responding: what each other rank waited for; else empty
 */
record FailureReport(Integer rank, String summary, Path rankLog, List<String> tail, List<String> waits) {

    private static final Pattern FAILED = Pattern.compile("\\[twobp\\] (rank (\\d+)(?: \\(stage \\d+\\))? failed\\b.*)");
    private static final Pattern ABORT = Pattern.compile("MPI_ABORT was invoked on rank (\\d+)");
    private static final Pattern KILLED = Pattern.compile("process rank (\\d+) with PID \\d+ on node (\\S+) exited on"
            + " signal (\\d+) \\(([^)]*)\\)");
    private static final Pattern LABELLED = Pattern.compile("^\\s*(\\d+): ?(.*)$");
    static final int TAIL = 20;
    /** A wait this share of the longest one, or longer, shows that its rank was held up by another. */
    static final double HELD_UP = 0.5;

    FailureReport(Integer rank, String summary, Path rankLog, List<String> tail) {
        this(rank, summary, rankLog, tail, List.of());
    }

    /** True for a line by which a rank says its run failed: a failure of its own, or a wait that ended without an answer. */
    static boolean saysFailed(String line) {
        return line.contains("[twobp] rank ") && (line.contains(" failed") || StalledWait.parse(line) != null);
    }

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
        // a rank's own failure; one in an action beats one elsewhere; the ranks' logs beat the launcher's
        List<List<String>> sources = new ArrayList<>(logs.values());
        sources.add(launcherLog);
        for (boolean actionOnly : new boolean[] {true, false}) {
            for (List<String> lines : sources) {
                for (String l : lines) {
                    Matcher m = FAILED.matcher(l);
                    if (m.find() && (!actionOnly || l.contains(" in action "))) {
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
                Matcher k = KILLED.matcher(l);
                if (k.find()) {
                    rank = Integer.parseInt(k.group(1));
                    why = "rank " + rank + " was killed by signal " + k.group(3) + " (" + k.group(4) + ") on " + k.group(2)
                            + (k.group(3).equals("9") ? ": out of memory, or killed from outside" : "");
                    break;
                }
            }
        }
        if (rank == null) {
            FailureReport stalled = unresponsive(logs, launcherLog, logPath);
            if (stalled != null) {
                return stalled;
            }
            for (String l : launcherLog) {
                Matcher a = ABORT.matcher(l);
                if (a.find()) {
                    rank = Integer.parseInt(a.group(1));
                    why = "rank " + rank + " aborted the job";
                    break;
                }
            }
        }
        if (rank == null) {
            return new FailureReport(null, "the ranks exited with code " + exitCode + "; no rank reported an error",
                    null, lastLinesOfEvery(logs));
        }
        return new FailureReport(rank, why, logPath == null ? null : logPath.apply(rank), tailOf(logs, rank));
    }

    /**
     * From the ranks' timeout lines: the rank (or ranks) that others waited for and that was not
     * itself held up by another. Ranks waited for by a full timeout come first; then those that
     * ranks were still waiting for when the job ended; then, if every wait is accounted for, the
     * ranks that said nothing at all. Null when no rank reported a wait.
     *
     * <p>A rank clears itself only by a long wait (at least {@link #HELD_UP} of the longest): one
     * that had just begun to wait when the job ended was busy, or stopped, until then. This matters
     * for a SIGSTOPped rank: mpirun sends SIGCONT before it kills, and the woken rank reports the
     * wait it has just begun, or, stopped inside a wait, that its own process was suspended; a
     * rank that reports a long suspension is named before any other.
     */
    static FailureReport unresponsive(Map<Integer, List<String>> logs, List<String> launcherLog,
                                      java.util.function.IntFunction<Path> logPath) {
        Map<Integer, StalledWait> waits = new TreeMap<>();
        for (List<String> lines : logs.isEmpty() ? List.of(launcherLog) : logs.values()) {
            for (String l : lines) {
                StalledWait w = StalledWait.parse(l);
                if (w != null) {
                    waits.putIfAbsent(w.rank(), w);
                }
            }
        }
        if (waits.isEmpty()) {
            return null;
        }
        double longest = waits.values().stream().mapToDouble(StalledWait::seconds).max().orElse(0);
        Set<Integer> reported = new TreeSet<>();
        waits.values().stream().filter(w -> w.timedOut() || w.seconds() >= HELD_UP * longest)
                .forEach(w -> reported.add(w.rank()));
        Set<Integer> suspects = new TreeSet<>();
        waits.values().stream().filter(w -> w.suspended() > 0 && w.suspended() >= HELD_UP * longest)
                .forEach(w -> suspects.add(w.rank()));
        for (boolean byTimeout : new boolean[] {true, false}) {
            if (suspects.isEmpty()) {
                waits.values().stream().filter(w -> w.timedOut() == byTimeout).flatMap(w -> w.peers().stream())
                        .filter(p -> !reported.contains(p)).forEach(suspects::add);
            }
        }
        boolean nobodyNamed = suspects.isEmpty();
        if (nobodyNamed) {
            // every wait was for a rank that reported, or for a collective: the ranks not held up are left
            logs.keySet().stream().filter(r -> !reported.contains(r)).forEach(suspects::add);
        }
        List<String> lines = new ArrayList<>();
        for (StalledWait w : waits.values()) {
            lines.add(w.line());
        }
        if (suspects.isEmpty()) {
            StringBuilder cycle = new StringBuilder();
            for (StalledWait w : waits.values()) {
                cycle.append(cycle.length() == 0 ? "" : ", ").append("rank ").append(w.rank())
                        .append(w.peers().isEmpty() ? " in " + w.where() : " for " + ranks(w.peers()));
            }
            return new FailureReport(null, "every rank was waiting for another (" + cycle + "): a deadlock, or ranks"
                    + " that disagree on the schedule or on the order of collectives", null, lastLinesOfEvery(logs), lines);
        }
        int first = suspects.iterator().next();
        String who = ranks(new ArrayList<>(suspects));
        int stage = -1;
        int step = -1;
        for (StalledWait w : waits.values()) {
            if (w.peers().size() == 1 && suspects.contains(w.peers().get(0)) && w.peerStage() >= 0 && suspects.size() == 1) {
                stage = w.peerStage();
            }
            if (w.step() > 0 && (step < 0 || w.step() < step)) {
                step = w.step();
            }
        }
        if (stage < 0 && suspects.size() == 1 && waits.containsKey(first)) {
            stage = waits.get(first).stage(); // its own late line says where it was
        }
        boolean silent = suspects.stream().noneMatch(waits::containsKey);
        Map<Integer, StalledWait> others = new TreeMap<>(waits);
        StringBuilder late = new StringBuilder();
        for (int r : suspects) {
            StalledWait own = others.remove(r);
            if (own != null && own.suspended() > 0) {
                late.append(String.format(Locale.ROOT, "; rank %d itself reports that its process was suspended for"
                        + " %.1f s (SIGSTOP, or its node stalled)", r, own.suspended()));
            } else if (own != null) {
                late.append(String.format(Locale.ROOT, "; rank %d itself had waited only %.1f s when the job ended, so"
                        + " nothing held it up", r, own.seconds()));
            }
        }
        String summary = who + (stage >= 0 ? " (stage " + stage + ")" : "") + " stopped responding"
                + (step > 0 ? " at step " + step : "") + " (" + clauses(others, suspects)
                + (nobodyNamed && silent ? "; nobody heard from " + (suspects.size() == 1 ? "it" : "them") : "") + late + ")";
        return new FailureReport(first, summary, logPath == null ? null : logPath.apply(first), tailOf(logs, first), lines);
    }

    /** "ranks 1 and 3 timed out waiting for it; rank 0 timed out in the all-reduce of ...". */
    private static String clauses(Map<Integer, StalledWait> waits, Set<Integer> suspects) {
        Map<String, List<Integer>> byClause = new LinkedHashMap<>();
        List<StalledWait> suspectsFirst = new ArrayList<>(waits.values());
        suspectsFirst.sort(java.util.Comparator.comparing(w -> w.peers().isEmpty() || !suspects.containsAll(w.peers())));
        for (StalledWait w : suspectsFirst) {
            String verb = w.timedOut() ? "timed out" : "gave up";
            String clause;
            if (!w.peers().isEmpty() && suspects.containsAll(w.peers())) {
                clause = verb + " waiting for " + (suspects.size() == 1 ? "it" : w.peers().size() == suspects.size()
                        ? "them" : ranks(w.peers()));
            } else if (!w.peers().isEmpty()) {
                clause = verb + " waiting for " + ranks(w.peers()) + " in " + w.where();
            } else {
                clause = verb + " in " + w.where();
            }
            byClause.computeIfAbsent(clause, c -> new ArrayList<>()).add(w.rank());
        }
        StringBuilder s = new StringBuilder();
        byClause.forEach((clause, ranks) -> s.append(s.length() == 0 ? "" : "; ").append(ranks(ranks)).append(' ')
                .append(clause));
        return s.toString();
    }

    private static String ranks(List<Integer> ranks) {
        return TransportException.rankList(ranks.stream().mapToInt(Integer::intValue).toArray());
    }

    private static List<String> tailOf(Map<Integer, List<String>> logs, int rank) {
        List<String> own = logs.getOrDefault(rank, List.of());
        return new ArrayList<>(own.subList(Math.max(0, own.size() - TAIL), own.size()));
    }

    private static List<String> lastLinesOfEvery(Map<Integer, List<String>> logs) {
        List<String> tail = new ArrayList<>();
        for (Map.Entry<Integer, List<String>> e : logs.entrySet()) {
            List<String> l = e.getValue();
            for (String line : l.subList(Math.max(0, l.size() - 3), l.size())) {
                tail.add("rank " + e.getKey() + ": " + line);
            }
        }
        return tail;
    }

    /** The report as printed: the verdict, then the tail of the failing rank's log, indented. */
    String render() {
        StringBuilder s = new StringBuilder();
        s.append("failed: ").append(summary).append('\n');
        if (!waits.isEmpty()) {
            s.append("what the ranks waited for:\n");
            for (String w : waits) {
                s.append("    ").append(w).append('\n');
            }
        }
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
