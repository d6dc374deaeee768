package org.twobp.launcher;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** The options 'train' and 'submit' share: what to run, and where the run's folder goes. */
record RunOptions(Path config, List<String> sets, String runDir, String name, String dumpWeights, String failAt,
                  boolean dryRun) {

    static void add(Options o) {
        o.addOption(Option.builder("c").longOpt("config").hasArg().argName("FILE")
                .desc("run configuration: TOML with [model], [train], [pipeline], [checkpoint] (see configs/)").build());
        o.addOption(Option.builder().longOpt("set").hasArg().argName("KEY=VALUE")
                .desc("override a setting, e.g. train.steps=20 or pipeline.schedule=zb-h1 (repeatable)").build());
        o.addOption(Option.builder().longOpt("steps").hasArg().argName("N").desc("shortcut for --set train.steps=N").build());
        o.addOption(Option.builder().longOpt("schedule").hasArg().argName("NAME")
                .desc("shortcut for --set pipeline.schedule=NAME").build());
        o.addOption(null, "2bp", false, "shortcut for --set pipeline.two_bp=true");
        o.addOption(null, "no-2bp", false, "shortcut for --set pipeline.two_bp=false (the fused-backward baseline)");
        o.addOption(Option.builder().longOpt("name").hasArg().argName("NAME")
                .desc("run folder runs/NAME (default: the config's name and the time, e.g. llama-small-20260101-120000)")
                .build());
        o.addOption(Option.builder().longOpt("run-dir").hasArg().argName("DIR")
                .desc("the run folder itself, instead of runs/NAME").build());
        o.addOption(Option.builder().longOpt("dump-weights").hasArg().argName("DIR")
                .desc("when the run ends, every rank writes its weights to DIR/NAME.f32 (for comparisons)").build());
        o.addOption(Option.builder().longOpt("fail-at").hasArg().argName("R:S:A")
                .desc("testing: rank R fails at the first action A (F, I, W, B) of step S").build());
        o.addOption(null, "dry-run", false, "print the resolved config and what would run; start and write nothing");
    }

    static RunOptions from(String command, CommandLine cl) {
        if (!cl.getArgList().isEmpty()) {
            throw new UsageException(command, "unexpected argument '" + cl.getArgList().get(0) + "'"
                    + (cl.getArgList().get(0).contains("=") ? " (overrides go with --set KEY=VALUE)" : ""));
        }
        if (!cl.hasOption("config")) {
            throw new UsageException(command, "--config FILE is required (e.g. --config configs/llama-small.toml)");
        }
        List<String> sets = new ArrayList<>();
        if (cl.getOptionValues("set") != null) {
            sets.addAll(List.of(cl.getOptionValues("set")));
        }
        if (cl.hasOption("2bp") && cl.hasOption("no-2bp")) {
            throw new UsageException(command, "--2bp or --no-2bp, not both");
        }
        if (cl.hasOption("steps")) {
            sets.add("train.steps=" + cl.getOptionValue("steps"));
        }
        if (cl.hasOption("schedule")) {
            sets.add("pipeline.schedule=" + cl.getOptionValue("schedule"));
        }
        if (cl.hasOption("2bp") || cl.hasOption("no-2bp")) {
            sets.add("pipeline.two_bp=" + cl.hasOption("2bp"));
        }
        String dump = cl.getOptionValue("dump-weights");
        String failAt = cl.getOptionValue("fail-at");
        if (failAt != null && !failAt.matches("\\d{1,6}:\\d{1,9}:[A-Za-z]")) {
            throw new UsageException(command, "--fail-at " + Shell.quote(failAt) + ": give RANK:STEP:ACTION, e.g. 1:2:I");
        }
        return new RunOptions(CliParsing.inputPath(command, "--config", cl.getOptionValue("config")), List.copyOf(sets),
                cl.getOptionValue("run-dir"), cl.getOptionValue("name"),
                dump == null ? null : CliParsing.path(command, "--dump-weights", dump).toAbsolutePath().normalize().toString(),
                failAt, cl.hasOption("dry-run"));
    }

    RunFolder folder(String command) {
        RunFolder f = RunFolder.choose(command, runDir, name, config, LocalDateTime.now());
        f.checkNew(command);
        return f;
    }

    List<String> workerExtras() {
        return WorkerArgs.extras(dumpWeights, failAt);
    }
}
