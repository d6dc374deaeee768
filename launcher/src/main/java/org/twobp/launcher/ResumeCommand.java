package org.twobp.launcher;

import java.nio.file.Files;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Locale;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.twobp.checkpoints.Check;
import org.twobp.checkpoints.CheckpointException;
import org.twobp.checkpoints.Resolution;
import org.twobp.checkpoints.ResumeResolver;

/**
 * {@code twobp resume RUN_DIR}: continues a run the way it was started, from its newest complete
 * checkpoint (or another with {@code --from}): a local run with mpirun and the same rank count,
 * a Slurm run by submitting its job script again. What it reports is what the ranks will do:
 * it resolves {@code --from} with their check (every stage file against its CRC-32, which reads
 * the chosen checkpoint once, at disk speed), so a damaged newest checkpoint is reported as
 * skipped, with the older step the ranks will continue after.
 */
final class ResumeCommand implements Command {

    private final java.util.function.Supplier<Environment> environment;

    ResumeCommand() {
        this(Environment::detect);
    }

    /** With the environment a test fakes. */
    ResumeCommand(java.util.function.Supplier<Environment> environment) {
        this.environment = environment;
    }

    @Override public String name() { return "resume"; }

    @Override public String summary() {
        return "continue a run from its newest complete checkpoint, the way it was started (mpirun or sbatch)";
    }

    static Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("from").hasArg().argName("WHAT")
                .desc("auto (default: the newest complete checkpoint, else step 0), latest, a step, a step folder;"
                        + " Slurm runs always use auto").build());
        o.addOption(null, "dry-run", false, "print what would run; start and write nothing");
        return o;
    }

    @Override public int run(String[] args) throws Exception {
        CommandLine cl = CliParsing.parse(name(), "RUN_DIR [--from auto|latest|STEP|PATH] [--dry-run]",
                "Continues the run in RUN_DIR (made by 'twobp train' or 'twobp submit') with its saved config.",
                options(), args);
        if (cl == null) {
            return 0;
        }
        List<String> rest = cl.getArgList();
        if (rest.size() != 1) {
            throw new UsageException(name(), rest.isEmpty() ? "which run? give its folder, e.g. twobp resume runs/NAME"
                    : "one run folder at a time, got " + rest);
        }
        RunFolder folder = RunFolder.existing(name(), rest.get(0));
        RunFolder.Launch launch = folder.readLaunch(name());
        ResolvedRun resolved = ResolvedRun.resolve(name(), folder.config(), List.of(), launch.ranks(),
                launch.ranks() + " ranks (as the run was started)");
        String from = cl.getOptionValue("from", "auto");
        boolean slurm = launch.mode().equals(RunFolder.Launch.SLURM);
        if (slurm) {
            if (!from.equals("auto")) {
                throw new UsageException(name(), "--from " + from + ": a Slurm run's job script always continues from"
                        + " the newest complete checkpoint (auto); move newer step folders aside to go back further");
            }
            if (!Files.isRegularFile(folder.jobScript())) {
                throw new UsageException(name(), folder.dir() + " was submitted to Slurm but its " + RunFolder.JOB_SCRIPT
                        + " is gone");
            }
            String active = SlurmJobs.activeJob(folder);
            if (active != null) {
                throw new UsageException(name(), "job " + active + " of this run is still queued or running: wait for it,"
                        + " or scancel it first");
            }
        }
        List<Long> running = RunState.ranksHere(folder.dir());
        if (!running.isEmpty()) {
            throw new UsageException(name(), "ranks of this run are still running on this machine (pids " + running
                    + "): wait for them, or stop them with  touch " + folder.stopFile());
        }
        // The ranks resolve --from with the full check (every stage file's CRC-32) before they load, so
        // the launcher does the same to say what they will do; it reads the chosen checkpoint once more.
        long t0 = System.nanoTime();
        Resolution where;
        try {
            where = ResumeResolver.resolve(folder.dir(), from, Check.FULL);
        } catch (CheckpointException e) {
            throw new UsageException(name(), e.getMessage());
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        RunState state = RunState.of(folder);
        if (from.equals("auto") && !where.fresh() && state.finalStep() > 0 && where.step() >= state.finalStep()) {
            System.out.println("twobp resume: finished: step " + where.step() + " of " + state.finalStep()
                    + " is committed in " + where.dir().getParent() + "; nothing to do");
            return 0;
        }
        for (String s : where.skipped()) {
            System.out.println("skipped " + s);
        }
        String plan = where.fresh() ? "no complete checkpoint: the run starts again from step 0"
                : String.format(Locale.ROOT, "continues after step %d (%s; %.1f MB, checksums verified in %.2f s)",
                        where.step(), where.dir(), where.checkpoint().bytes() / 1e6, seconds);
        Environment env = environment.get();
        Preflight.resume(name(), resolved, launch.dumpWeights(), env, slurm);
        if (slurm) {
            System.out.println("twobp resume: " + plan);
            if (cl.hasOption("dry-run")) {
                System.out.println("would run: sbatch --parsable " + Shell.quote(folder.jobScript().toString()));
                return 0;
            }
            Files.deleteIfExists(folder.stopFile());
            return SubmitCommand.sbatch(folder, false);
        }
        LocalLaunch local = new LocalLaunch(Site.current(env.openMpiLibdir()), env.inSlurmAllocation(), resolved.ranks(),
                folder, from, WorkerArgs.extras(launch.dumpWeights(), null),
                LocalLaunch.newAttemptDir(folder, LocalDateTime.now()), TrainCommand.isRoot());
        System.out.println("twobp resume: " + plan);
        if (cl.hasOption("dry-run")) {
            System.out.println("command:\n" + local.commandLine());
            return 0;
        }
        Files.deleteIfExists(folder.stopFile());
        System.out.println("command: " + local.commandLine());
        System.out.flush();
        return local.run(System.out, System.err, ProgressLine.stdoutIsTerminal());
    }
}
