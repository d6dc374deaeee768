package org.twobp.launcher;

import java.nio.file.Path;

import org.twobp.worker.pipeline.FaultInjection;
import org.twobp.worker.pipeline.RunChecks;

/**
 * Everything about a new run that can be known before anything starts, checked in one go after
 * the config resolved and before the run folder exists: a problem is a usage error (exit 2) with
 * the key, the value and the fix, and nothing is written. {@code --dry-run} runs the same checks.
 */
final class Preflight {

    private Preflight() {
    }

    /** For {@code twobp train}: the ranks start here, so the machine must fit the run too. */
    static void local(String command, ResolvedRun run, RunOptions options, Environment env) {
        common(command, run, options.dumpWeights(), options.failAt());
        machine(command, run, env);
    }

    /**
     * For {@code twobp resume}: the saved config's data and dump folder may have gone since the run
     * started; a local resume also needs this machine to fit.
     */
    static void resume(String command, ResolvedRun run, String dumpWeights, Environment env, boolean slurm) {
        common(command, run, dumpWeights, null);
        if (!slurm) {
            machine(command, run, env);
        }
    }

    private static void machine(String command, ResolvedRun run, Environment env) {
        check(command, () -> RunChecks.backend(run.config(), !env.gpus().isEmpty()));
        if (env.onPath("mpirun") == null) {
            throw new UsageException(command, "mpirun is not on PATH, so no rank can start: install Open MPI"
                    + " (apt-get install openmpi-bin libopenmpi-dev; make setup does it) or 'module load openmpi' on a"
                    + " cluster; 'twobp env' shows what was found");
        }
    }

    /**
     * For {@code twobp submit}: the backend is the job's to check on its node, but the data and the
     * dump folder are on file systems the login node sees too.
     */
    static void slurm(String command, ResolvedRun run, RunOptions options) {
        common(command, run, options.dumpWeights(), options.failAt());
    }

    private static void common(String command, ResolvedRun run, String dumpWeights, String failAt) {
        check(command, () -> RunChecks.data(run.config()));
        check(command, () -> RunChecks.dumpFolder(dumpWeights == null ? null : Path.of(dumpWeights)));
        if (failAt != null) {
            check(command, () -> {
                FaultInjection f = FaultInjection.parse(failAt);
                if (f.rank() >= run.ranks()) {
                    throw new IllegalArgumentException("--fail-at " + failAt + ": rank " + f.rank()
                            + " does not exist in a run of " + run.ranks() + " ranks");
                }
            });
        }
    }

    private static void check(String command, Runnable check) {
        try {
            check.run();
        } catch (IllegalArgumentException e) {
            throw new UsageException(command, e.getMessage());
        }
    }
}
