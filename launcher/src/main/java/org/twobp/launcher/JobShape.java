package org.twobp.launcher;

import java.util.List;

/**
 * What a Slurm job asks for: nodes, ranks per node (one per GPU, or CPU ranks), time limit, and
 * how the job meets the time limit: the pre-timeout signal's lead time and how often it may
 * requeue itself.
 *
 * @param gpusPerNode   0 for a CPU-only job: then {@code tasksPerNode} CPU ranks per node
 * @param cpusPerTask   0: Slurm's default
 * @param signalMargin  seconds before the limit at which the batch shell gets SIGUSR1
 * @param launch        {@code mpirun} (reads the allocation) or {@code srun} ({@code --mpi=pmix})
 */
record JobShape(int nodes, int gpusPerNode, int tasksPerNode, int cpusPerTask, WallTime time, int signalMargin,
                int maxRestarts, String partition, String account, String launch, List<String> extraSbatch) {

    static final List<String> LAUNCHERS = List.of("mpirun", "srun");

    /** The largest lead time Slurm's --signal takes. */
    static final int MAX_MARGIN = 65535;

    int ranks() {
        return nodes * tasksPerNode;
    }

    /** "8 ranks (2 nodes x 4 GPUs)", for messages. */
    String describeRanks() {
        return ranks() + " rank" + (ranks() == 1 ? "" : "s") + " (" + nodes + " node" + (nodes == 1 ? "" : "s") + " x "
                + (gpusPerNode > 0 ? gpusPerNode + " GPU" + (gpusPerNode == 1 ? "" : "s")
                : tasksPerNode + " CPU rank" + (tasksPerNode == 1 ? "" : "s")) + ")";
    }

    /**
     * The default lead time of the pre-timeout signal: 120 s, room for the ranks to finish a step
     * and write a checkpoint; half the limit when the limit is under 4 minutes. slurmctld checks
     * signals and limits on a 30 s timer and sends the signal at the first check at most 30 s
     * before it is due, so it comes between the lead time and 30 s more before the limit; the
     * kill at the limit comes up to 30 s late.
     */
    static int defaultMargin(WallTime time) {
        return (int) Math.min(120, Math.max(1, time.seconds() / 2));
    }
}
