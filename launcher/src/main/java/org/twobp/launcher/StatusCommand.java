package org.twobp.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code twobp status RUN_DIR}: where a run stands (checkpoints, Slurm jobs, how to continue)
 * and, when its last attempt failed, which rank failed with the tail of its log. Job scripts
 * call it when their ranks fail.
 */
final class StatusCommand implements Command {

    private static final Pattern SLURM_ATTEMPT = Pattern.compile("job-(\\d+)-(\\d+)");

    @Override public String name() { return "status"; }

    @Override public String summary() {
        return "where a run stands: checkpoints, Slurm jobs, the failing rank and its log tail";
    }

    static Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("attempt").hasArg().argName("DIR")
                .desc("the attempt's log folder (default: the newest under RUN_DIR/logs)").build());
        o.addOption(Option.builder().longOpt("exit-code").hasArg().argName("N")
                .desc("the attempt's exit code, when known").build());
        return o;
    }

    @Override public int run(String[] args) throws Exception {
        CommandLine cl = CliParsing.parse(name(), "RUN_DIR [--attempt DIR] [--exit-code N]",
                "Shows where the run in RUN_DIR stands and, if its last attempt failed, why.", options(), args);
        if (cl == null) {
            return 0;
        }
        if (cl.getArgList().size() != 1) {
            throw new UsageException(name(), "give one run folder, e.g. twobp status runs/NAME");
        }
        RunFolder folder = RunFolder.existing(name(), cl.getArgList().get(0));
        int exitCode = CliParsing.intOption(name(), cl, "exit-code", 0, 0);
        System.out.print(report(folder, cl.getOptionValue("attempt") == null ? newestAttempt(folder)
                : Path.of(cl.getOptionValue("attempt")), exitCode, System.getenv("SLURM_JOB_ID")));
        return 0;
    }

    /**
     * @param ownJob the Slurm job this command runs in (null: none): when that is the run's
     *               newest job, its job script is reporting how the job ends, so "RUNNING" is
     *               not what the run is doing
     */
    static String report(RunFolder folder, Path attempt, int exitCode, String ownJob) {
        StringBuilder s = new StringBuilder();
        RunState state = RunState.of(folder);
        s.append("run          ").append(folder.dir()).append('\n');
        List<String> jobs = SlurmJobs.ids(folder);
        SlurmJobs.Job newest = null;
        for (String id : jobs) {
            SlurmJobs.Job j = SlurmJobs.describe(id);
            s.append("slurm job    ").append(id).append(j == null ? "" : ": " + j.text()).append('\n');
            newest = j;
        }
        s.append("checkpoints  ").append(state.describeCheckpoints()).append('\n');
        if (Files.exists(folder.stopFile())) {
            s.append("stop         requested (").append(folder.stopFile()).append(" exists)\n");
        }
        FailureReport f = null;
        if (attempt != null) {
            s.append("last attempt ").append(attempt).append('\n');
            f = failure(folder, attempt, exitCode);
            if (f != null) {
                s.append(f.render());
            }
        }
        if (newest != null && newest.id().equals(ownJob)) {
            newest = null;
        }
        RunState.Activity now = new RunState.Activity(newest, RunState.ranksHere(folder.dir()), f != null);
        s.append("state        ").append(state.verdict(now)).append('\n');
        return s.toString();
    }

    /** The failure of an attempt, if its exit code or its logs say it failed; else null. */
    static FailureReport failure(RunFolder folder, Path attempt, int exitCode) {
        Map<Integer, List<String>> logs = FailureReport.rankLogs(attempt);
        List<String> launcherLog = new ArrayList<>();
        java.util.function.IntFunction<Path> where = r -> attempt.resolve("1").resolve("rank." + r).resolve("stdout");
        if (logs.isEmpty()) {
            // srun --label: the ranks' lines are in the job's output, after this attempt's first line
            Matcher m = SLURM_ATTEMPT.matcher(attempt.getFileName().toString());
            Path out = m.matches() ? folder.logs().resolve("slurm-" + m.group(1) + ".out") : attempt.resolve("output.log");
            List<String> lines = Files.isRegularFile(out) ? FailureReport.readLines(out) : List.of();
            int from = 0;
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).startsWith("[twobp]") && lines.get(i).contains(", attempt ")) {
                    from = i;
                }
            }
            launcherLog = lines.subList(from, lines.size());
            logs = FailureReport.splitLabelled(launcherLog);
            where = r -> out;
        } else if (Files.isRegularFile(attempt.resolve("output.log"))) {
            launcherLog = FailureReport.readLines(attempt.resolve("output.log"));
        }
        boolean failed = exitCode != 0 || logs.values().stream().flatMap(List::stream)
                .anyMatch(FailureReport::saysFailed);
        return failed ? FailureReport.of(exitCode, logs, launcherLog, where) : null;
    }

    static Path newestAttempt(RunFolder folder) {
        if (!Files.isDirectory(folder.logs())) {
            return null;
        }
        try (Stream<Path> s = Files.list(folder.logs())) {
            return s.filter(Files::isDirectory)
                    .filter(p -> p.getFileName().toString().matches("(local|job)-.*")).max(Comparator.comparingLong(StatusCommand::modified)).orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }
}
