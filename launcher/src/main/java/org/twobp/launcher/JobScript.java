package org.twobp.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The sbatch script of a run: {@code slurm/job.sbatch.template} with its {@code {{PLACEHOLDERS}}}
 * filled in. The template holds the job's logic (signal trap, background ranks, requeue, failure
 * report); this class supplies the #SBATCH options and the rank command.
 */
final class JobScript {

    static final String TEMPLATE = "job.sbatch.template";
    static final List<String> PLACEHOLDERS = List.of("SBATCH", "RUN_DIR", "FINAL_STEP", "MAX_RESTARTS", "JAVA",
            "CLASSPATH", "LAUNCHER", "RANKS");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{([A-Z_]+)}}");

    private JobScript() {
    }

    /** What goes into one job script besides the template. */
    record Inputs(Site site, RunFolder run, String name, int finalStep, JobShape shape, List<String> workerExtras) {
    }

    static String render(String template, Inputs in) {
        Map<String, String> values = new LinkedHashMap<>();
        values.put("SBATCH", String.join("\n", sbatchLines(in)));
        values.put("RUN_DIR", Shell.quote(in.run().dir().toString()));
        values.put("FINAL_STEP", String.valueOf(in.finalStep()));
        values.put("MAX_RESTARTS", String.valueOf(in.shape().maxRestarts()));
        values.put("JAVA", Shell.quote(in.site().java()));
        values.put("CLASSPATH", Shell.quote(in.site().classpath()));
        values.put("LAUNCHER", in.shape().launch());
        values.put("RANKS", ranksCommand(in));
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String v = values.get(m.group(1));
            if (v == null) {
                throw new IllegalArgumentException("the job script template has an unknown placeholder {{" + m.group(1)
                        + "}}; known: " + PLACEHOLDERS);
            }
            m.appendReplacement(out, Matcher.quoteReplacement(v));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** The #SBATCH lines, each rendered and checked by {@link SbatchOptions}. */
    static List<String> sbatchLines(Inputs in) {
        JobShape s = in.shape();
        List<String> l = new ArrayList<>();
        l.add(SbatchOptions.line("job-name", SbatchOptions.jobName(in.name())));
        l.add(SbatchOptions.line("nodes", String.valueOf(s.nodes())));
        l.add(SbatchOptions.line("ntasks", String.valueOf(s.ranks())));
        l.add(SbatchOptions.line("ntasks-per-node", String.valueOf(s.tasksPerNode())));
        if (s.gpusPerNode() > 0) {
            l.add(SbatchOptions.line("gpus-per-node", String.valueOf(s.gpusPerNode())));
        }
        if (s.cpusPerTask() > 0) {
            l.add(SbatchOptions.line("cpus-per-task", String.valueOf(s.cpusPerTask())));
        }
        l.add(SbatchOptions.line("time", s.time().slurm()));
        if (s.partition() != null) {
            l.add(SbatchOptions.line("partition", SbatchOptions.partition(s.partition())));
        }
        if (s.account() != null) {
            l.add(SbatchOptions.line("account", SbatchOptions.account(s.account())));
        }
        l.add(SbatchOptions.line("output", SbatchOptions.literalInPattern(in.run().logs().toString()) + "/slurm-%j.out"));
        l.add(SbatchOptions.line("open-mode", "append"));
        l.add(SbatchOptions.flag("requeue"));
        l.add(SbatchOptions.line("signal", "B:USR1@" + s.signalMargin()));
        l.add(SbatchOptions.line("chdir", SbatchOptions.runPath(in.run().dir().toString())));
        for (String x : s.extraSbatch()) {
            l.add(SbatchOptions.extra(x));
        }
        return l;
    }

    /** The rank command, started in the background by the script. */
    static String ranksCommand(Inputs in) {
        List<String> launcher = new ArrayList<>();
        if (in.shape().launch().equals("srun")) {
            launcher.addAll(List.of("srun", "--mpi=pmix", "--kill-on-bad-exit=1", "--label"));
        } else {
            launcher.addAll(List.of("mpirun", "--output-filename", "\"$ATTEMPT_LOGS\"", "--merge-stderr-to-stdout",
                    "-x", "OPENBLAS_NUM_THREADS"));
        }
        List<String> jvm = List.of("\"$JAVA\"", "-Xss4m", Shell.quote("-Djava.library.path=" + in.site().libraryPath()),
                "-cp", "\"$TWOBP_CP\"");
        List<String> worker = new ArrayList<>(List.of(WorkerArgs.MAIN, "--config", "\"$RUN_DIR/config.toml\"",
                "--run-dir", "\"$RUN_DIR\"", "--from", "auto"));
        for (String x : in.workerExtras()) {
            worker.add(Shell.quote(x));
        }
        return String.join(" ", launcher) + " \\\n    " + String.join(" ", jvm) + " \\\n    " + String.join(" ", worker);
    }

    /**
     * The template: {@code --template FILE}, else the installation's {@code slurm/} (so site edits
     * take effect without a rebuild), else the copy built into the launcher.
     */
    static String loadTemplate(String command, String file, Path home) {
        try {
            if (file != null) {
                Path p = Path.of(file);
                if (!Files.isRegularFile(p)) {
                    throw new UsageException(command, "--template " + file + " does not exist");
                }
                return Files.readString(p, StandardCharsets.UTF_8);
            }
            if (home != null && Files.isRegularFile(home.resolve("slurm").resolve(TEMPLATE))) {
                return Files.readString(home.resolve("slurm").resolve(TEMPLATE), StandardCharsets.UTF_8);
            }
            return builtInTemplate();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the job script template: " + e.getMessage(), e);
        }
    }

    static String builtInTemplate() throws IOException {
        try (InputStream in = JobScript.class.getResourceAsStream(TEMPLATE)) {
            if (in == null) {
                throw new IOException(TEMPLATE + " is not in the launcher jar: rebuild with 'make build'");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
