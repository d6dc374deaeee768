package org.twobp.worker.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;

import org.twobp.mpi.ReduceOp;
import org.twobp.mpi.Transport;

/**
 * A request to stop at the next step boundary, checkpoint and exit: SIGUSR1 (Slurm's
 * pre-timeout warning, forwarded by the job script or mpirun), SIGTERM, or a file
 * {@code RUN_DIR/STOP}. Ranks see signals at different moments, so they agree by an
 * all-reduce after every step; repeated signals change nothing.
 */
public final class StopRequest {

    private final Path stopFile;
    private volatile String reason;

    private StopRequest(Path stopFile) {
        this.stopFile = stopFile;
    }

    /** Installs the signal handlers (once per process). */
    public static StopRequest install(Path runDir) {
        StopRequest r = new StopRequest(runDir == null ? null : runDir.resolve("STOP"));
        for (String name : new String[] {"USR1", "TERM"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                    if (r.reason == null) {
                        r.reason = "signal " + name;
                    }
                });
            } catch (IllegalArgumentException e) {
                System.err.println("[twobp] cannot handle SIG" + name + " here (" + e.getMessage() + "); use the STOP file");
            }
        }
        return r;
    }

    /** Collective: the reason any rank has to stop, or null to go on. */
    String agreed(Transport t) {
        String mine = reason;
        if (mine == null && stopFile != null && Files.exists(stopFile)) {
            mine = "stop file " + stopFile;
            reason = mine;
        }
        double[] flag = {mine == null ? 0 : 1};
        t.allreduce(flag, ReduceOp.MAX);
        if (flag[0] == 0) {
            return null;
        }
        return mine != null ? mine : "a stop request on another rank";
    }
}
