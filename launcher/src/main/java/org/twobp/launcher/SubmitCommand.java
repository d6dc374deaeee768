package org.twobp.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code twobp submit}: writes the run's folder and sbatch script and submits it. One rank per
 * GPU ({@code --gpus-per-node G}), or with {@code --gpus-per-node 0} {@code --ntasks-per-node}
 * CPU ranks per node. The job checkpoints on the pre-timeout signal and requeues itself.
 */
final class SubmitCommand implements Command {

    private final java.util.function.Supplier<Environment> environment;

    SubmitCommand() {
        this(Environment::detect);
    }

    /** With the environment a test fakes. */
    SubmitCommand(java.util.function.Supplier<Environment> environment) {
        this.environment = environment;
    }

    @Override public String name() { return "submit"; }

    @Override public String summary() {
        return "submit a run to Slurm (sbatch): one rank per GPU, checkpoint + requeue before the time limit";
    }

    static Options options() {
        Options o = new Options();
        RunOptions.add(o);
        o.addOption(Option.builder("N").longOpt("nodes").hasArg().argName("N").desc("nodes (required)").build());
        o.addOption(Option.builder().longOpt("gpus-per-node").hasArg().argName("G")
                .desc("GPUs per node, one rank each (required); 0 for CPU ranks, see --ntasks-per-node").build());
        o.addOption(Option.builder().longOpt("ntasks-per-node").hasArg().argName("T")
                .desc("CPU ranks per node when --gpus-per-node is 0 (default 1); with GPUs it must equal G").build());
        o.addOption(Option.builder().longOpt("cpus-per-task").hasArg().argName("C")
                .desc("cores per rank (default: Slurm's); also OpenBLAS threads per rank").build());
        o.addOption(Option.builder("t").longOpt("time").hasArg().argName("HH:MM:SS")
                .desc("time limit (required); also MM:SS, minutes, D-HH:MM:SS").build());
        o.addOption(Option.builder("p").longOpt("partition").hasArg().argName("P").desc("Slurm partition").build());
        o.addOption(Option.builder("A").longOpt("account").hasArg().argName("A").desc("Slurm account").build());
        o.addOption(Option.builder().longOpt("signal-margin").hasArg().argName("SECONDS")
                .desc("send the pre-timeout signal this long before the limit (default 120, or half a limit under"
                        + " 4 min); slurmctld's 30 s timer sends it up to 30 s earlier, never later").build());
        o.addOption(Option.builder().longOpt("max-restarts").hasArg().argName("R")
                .desc("requeue after the pre-timeout signal at most R times (default 3; 0: never)").build());
        o.addOption(Option.builder().longOpt("launch").hasArg().argName("mpirun|srun")
                .desc("start the ranks with mpirun (default; reads the allocation) or srun --mpi=pmix").build());
        o.addOption(Option.builder().longOpt("sbatch").hasArg().argName("OPTION")
                .desc("one more #SBATCH option, e.g. --sbatch=--qos=high (repeatable)").build());
        o.addOption(Option.builder().longOpt("template").hasArg().argName("FILE")
                .desc("job script template (default: slurm/" + JobScript.TEMPLATE + ")").build());
        o.addOption(null, "parsable", false, "print only the job id");
        return o;
    }

    @Override public int run(String[] args) throws Exception {
        CommandLine cl = CliParsing.parse(name(), "--config FILE --nodes N --gpus-per-node G --time HH:MM:SS [options]",
                "Writes runs/NAME/ (resolved config, job script) and submits the job with sbatch. The job script traps"
                        + " the pre-timeout signal: the ranks checkpoint and stop, and the job requeues itself and"
                        + " continues from the newest checkpoint.", options(), args);
        if (cl == null) {
            return 0;
        }
        RunOptions run = RunOptions.from(name(), cl);
        JobShape shape = shape(name(), cl);
        RunFolder folder = run.folder(name());
        ResolvedRun resolved = ResolvedRun.resolve(name(), run.config(), run.sets(), shape.ranks(), shape.describeRanks());
        Preflight.slurm(name(), resolved, run);
        Environment env = environment.get();
        Site site = Site.current(env.openMpiLibdir());
        String template = JobScript.loadTemplate(name(), cl.getOptionValue("template"), site.home());
        if (run.dryRun()) {
            System.out.print(dryRun(folder, resolved, shape, script(template, site, folder, resolved, shape, run)));
            return 0;
        }
        String sbatch = env.onPath("sbatch");
        if (sbatch == null) {
            throw new UsageException(name(), "sbatch is not on PATH: submit from a Slurm login node (or start a local"
                    + " test cluster: make slurm-up, then export SLURM_CONF=...)");
        }
        script(template, site, folder, resolved, shape, run); // every value checked before the folder is made
        folder = folder.create(name(), resolved, new RunFolder.Launch(RunFolder.Launch.SLURM, shape.ranks(),
                run.dumpWeights()));
        Files.writeString(folder.jobScript(), script(template, site, folder, resolved, shape, run), StandardCharsets.UTF_8);
        folder.jobScript().toFile().setExecutable(true);
        return sbatch(sbatch, folder, cl.hasOption("parsable"));
    }

    /** The job script of the run in {@code folder}; a value Slurm or the shell would misread is a usage error. */
    private String script(String template, Site site, RunFolder folder, ResolvedRun resolved, JobShape shape,
                          RunOptions run) {
        try {
            return JobScript.render(template, new JobScript.Inputs(site, folder, folder.name(), resolved.finalStep(),
                    shape, run.workerExtras()));
        } catch (IllegalArgumentException e) {
            throw new UsageException(name(), e.getMessage());
        }
    }

    static JobShape shape(String command, CommandLine cl) {
        for (String required : new String[] {"nodes", "gpus-per-node", "time"}) {
            if (!cl.hasOption(required)) {
                throw new UsageException(command, "--" + required + " is required"
                        + (required.equals("gpus-per-node") ? " (0 for CPU ranks, with --ntasks-per-node)" : ""));
            }
        }
        int nodes = CliParsing.intOption(command, cl, "nodes", 1, 1);
        int gpus = CliParsing.intOption(command, cl, "gpus-per-node", 0, 0);
        int tasks;
        if (gpus > 0) {
            tasks = CliParsing.intOption(command, cl, "ntasks-per-node", gpus, 1);
            if (tasks != gpus) {
                throw new UsageException(command, "--ntasks-per-node " + tasks + " with --gpus-per-node " + gpus
                        + ": twobp runs one rank per GPU; leave out --ntasks-per-node");
            }
        } else {
            tasks = CliParsing.intOption(command, cl, "ntasks-per-node", 1, 1);
        }
        int cpus = CliParsing.intOption(command, cl, "cpus-per-task", 0, 1);
        WallTime time = WallTime.parse(command, cl.getOptionValue("time"));
        int margin = CliParsing.intOption(command, cl, "signal-margin", JobShape.defaultMargin(time), 1);
        if (margin >= time.seconds()) {
            throw new UsageException(command, "--signal-margin " + margin + " s is not shorter than the time limit "
                    + time.slurm() + ": the signal must come while the job runs");
        }
        if (margin > JobShape.MAX_MARGIN) {
            throw new UsageException(command, "--signal-margin " + margin + ": Slurm takes at most " + JobShape.MAX_MARGIN + " s");
        }
        int restarts = CliParsing.intOption(command, cl, "max-restarts", 3, 0);
        String launch = cl.getOptionValue("launch", "mpirun");
        if (!JobShape.LAUNCHERS.contains(launch)) {
            throw new UsageException(command, "--launch " + launch + ": choose mpirun or srun");
        }
        String[] extra = cl.getOptionValues("sbatch");
        List<String> extras = extra == null ? List.of() : List.of(extra);
        return new JobShape(nodes, gpus, tasks, cpus, time, margin, restarts, cl.getOptionValue("partition"),
                cl.getOptionValue("account"), launch, extras);
    }

    static String dryRun(RunFolder folder, ResolvedRun run, JobShape shape, String script) {
        StringBuilder s = new StringBuilder();
        s.append("twobp submit --dry-run: nothing is written or submitted\n");
        s.append("run folder  ").append(folder.dir()).append('\n');
        s.append("job         ").append(shape.describeRanks()).append(", time limit ").append(shape.time().slurm())
                .append(", pre-timeout signal ").append(shape.signalMargin()).append(" s before it, at most ")
                .append(shape.maxRestarts()).append(" requeue").append(shape.maxRestarts() == 1 ? "" : "s")
                .append(", ranks started with ").append(shape.launch()).append('\n');
        s.append(run.describeStages());
        s.append("\nresolved config (").append(folder.config()).append("):\n");
        run.toml().lines().forEach(l -> s.append(l.isEmpty() ? "" : "    " + l).append('\n'));
        s.append("\njob script (").append(folder.jobScript()).append("):\n");
        s.append(script);
        return s.toString();
    }

    /** Submits the run's job script; prints the job id. */
    static int sbatch(RunFolder folder, boolean parsable) throws IOException, InterruptedException {
        return sbatch("sbatch", folder, parsable);
    }

    /** The same with the sbatch program found on the environment's PATH. */
    static int sbatch(String program, RunFolder folder, boolean parsable) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(program, "--parsable", folder.jobScript().toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            System.err.println("twobp submit: sbatch did not answer within 60 s; the run folder is " + folder.dir());
            return 1;
        }
        String id = out.lines().reduce((a, b) -> b).orElse("").split(";")[0].strip();
        if (p.exitValue() != 0 || !id.matches("\\d+")) {
            System.err.println("twobp submit: sbatch failed (exit " + p.exitValue() + "):\n" + out);
            System.err.println("the run folder " + folder.dir() + " is written; fix the cause and run: twobp resume "
                    + folder.dir());
            return 1;
        }
        Files.writeString(folder.dir().resolve("jobs.txt"), id + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        if (parsable) {
            System.out.println(id);
            return 0;
        }
        System.out.println("submitted job " + id + ": run folder " + folder.dir());
        System.out.println("  output   " + folder.logs().resolve("slurm-" + id + ".out"));
        System.out.println("  stop     touch " + folder.stopFile() + "   (checkpoint and stop at the next step; or scancel "
                + id + ")");
        System.out.println("  continue twobp resume " + folder.dir());
        return 0;
    }
}
