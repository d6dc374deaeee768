package org.twobp.launcher;

import java.time.LocalDateTime;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code twobp train}: a run on this machine through {@code mpirun}, one rank per GPU, or N CPU
 * ranks. Inside a Slurm allocation (salloc, or a job script of one's own) mpirun uses the
 * allocation and the default rank count is its task count.
 */
final class TrainCommand implements Command {

    private final java.util.function.Supplier<Environment> environment;

    TrainCommand() {
        this(Environment::detect);
    }

    /** With the environment a test fakes. */
    TrainCommand(java.util.function.Supplier<Environment> environment) {
        this.environment = environment;
    }

    static final int DEFAULT_CPU_RANKS = 2;

    @Override public String name() { return "train"; }

    @Override public String summary() {
        return "train on this machine (or inside an allocation) with mpirun: one rank per GPU, or N CPU ranks";
    }

    static Options options() {
        Options o = new Options();
        RunOptions.add(o);
        o.addOption(Option.builder("n").longOpt("nproc").hasArg().argName("N")
                .desc("ranks (default: one per GPU; without GPUs " + DEFAULT_CPU_RANKS
                        + " CPU ranks; inside an allocation its task count)").build());
        return o;
    }

    @Override public int run(String[] args) throws Exception {
        CommandLine cl = CliParsing.parse(name(), "--config FILE [--set KEY=VALUE ...] [--nproc N] [--dry-run]",
                "Trains with one MPI rank per pipeline stage on this machine. The resolved config, per-rank logs"
                        + " and checkpoints go to runs/NAME/. touch runs/NAME/STOP to checkpoint and stop;"
                        + " 'twobp resume runs/NAME' continues.", options(), args);
        if (cl == null) {
            return 0;
        }
        RunOptions run = RunOptions.from(name(), cl);
        RunFolder folder = run.folder(name());
        Environment env = environment.get();
        Ranks ranks = ranks(name(), env, cl);
        ResolvedRun resolved = ResolvedRun.resolve(name(), run.config(), run.sets(), ranks.count(), ranks.why());
        Preflight.local(name(), resolved, run, env);
        if (run.dryRun()) {
            System.out.print(dryRun(name(), folder, resolved, ranks, launch(env, folder, run, ranks.count())));
            return 0;
        }
        folder = folder.create(name(), resolved, new RunFolder.Launch(RunFolder.Launch.LOCAL, ranks.count(),
                run.dumpWeights()));
        LocalLaunch launch = launch(env, folder, run, ranks.count());
        System.out.println("twobp train: " + ranks.why() + ", run folder " + folder.dir());
        System.out.println("command: " + launch.commandLine());
        System.out.flush();
        return launch.run(System.out, System.err, ProgressLine.stdoutIsTerminal());
    }

    private static LocalLaunch launch(Environment env, RunFolder folder, RunOptions run, int ranks) {
        return new LocalLaunch(Site.current(env.openMpiLibdir()), env.inSlurmAllocation(), ranks, folder,
                "auto", run.workerExtras(), LocalLaunch.newAttemptDir(folder, LocalDateTime.now()), isRoot());
    }

    /** A rank count and how it was chosen. */
    record Ranks(int count, String why) {
    }

    static Ranks ranks(String command, Environment env, CommandLine cl) {
        int tasks = env.slurmTasks();
        if (cl.hasOption("nproc")) {
            int n = CliParsing.intOption(command, cl, "nproc", 1, 1);
            if (tasks > 0 && n > tasks) {
                throw new UsageException(command, "--nproc " + n + " but this Slurm allocation (job "
                        + env.env().get("SLURM_JOB_ID") + ") has " + tasks + " task(s): ask for --ntasks=" + n
                        + " or use fewer ranks");
            }
            return new Ranks(n, n + " rank" + (n == 1 ? "" : "s") + " (--nproc)");
        }
        if (tasks > 0) {
            return new Ranks(tasks, tasks + " rank" + (tasks == 1 ? "" : "s") + " (the tasks of Slurm job "
                    + env.env().get("SLURM_JOB_ID") + ")");
        }
        if (!env.gpus().isEmpty()) {
            int g = env.gpus().size();
            return new Ranks(g, g + " rank" + (g == 1 ? "" : "s") + " (one per GPU)");
        }
        return new Ranks(DEFAULT_CPU_RANKS, DEFAULT_CPU_RANKS + " CPU ranks (no GPU found; --nproc N for another count)");
    }

    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    static String dryRun(String command, RunFolder folder, ResolvedRun run, Ranks ranks, LocalLaunch launch) {
        StringBuilder s = new StringBuilder();
        s.append("twobp ").append(command).append(" --dry-run: nothing is started or written\n");
        s.append("run folder  ").append(folder.dir()).append('\n');
        s.append("ranks       ").append(ranks.why()).append('\n');
        s.append(run.describeStages());
        s.append("\nresolved config (").append(folder.config()).append("):\n");
        run.toml().lines().forEach(l -> s.append(l.isEmpty() ? "" : "    " + l).append('\n'));
        s.append("\ncommand:\n").append(launch.commandLine()).append('\n');
        return s.toString();
    }
}
