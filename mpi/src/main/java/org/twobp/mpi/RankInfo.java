package org.twobp.mpi;

import java.util.Map;

/**
 * Where a rank runs: its world rank and size, its rank and the rank count on its node, and
 * the node's index.
 *
 * <p>Once MPI is initialised the truth comes from MPI ({@link MpiTransport#rankInfo()}).
 * Before that, {@link #fromEnvironment} reads the launcher's variables in this order:
 * <ol>
 *   <li>{@code OMPI_COMM_WORLD_*} — set by {@code mpirun}, also inside a Slurm allocation;</li>
 *   <li>{@code PMIX_RANK} — set under {@code srun --mpi=pmix}, where the OMPI variables are absent;</li>
 *   <li>{@code SLURM_PROCID} — plain {@code srun}.</li>
 * </ol>
 * {@code SLURM_PROCID} and {@code SLURM_LOCALID} come last because under {@code mpirun} inside
 * an sbatch allocation they are inherited from the batch shell: every rank of a node sees the
 * same value.
 */
public record RankInfo(int worldRank, int worldSize, int localRank, int localSize, int nodeIndex,
                       String source) {

    public RankInfo {
        if (worldSize < 1 || worldRank < 0 || worldRank >= worldSize) {
            throw new IllegalArgumentException("world rank " + worldRank + " of " + worldSize + " (from " + source + ")");
        }
        if (localSize < 1 || localRank < 0 || localRank >= localSize) {
            throw new IllegalArgumentException("local rank " + localRank + " of " + localSize + " (from " + source + ")");
        }
        if (nodeIndex < 0) {
            throw new IllegalArgumentException("node index " + nodeIndex + " (from " + source + ")");
        }
    }

    /** One process, nothing launched it. */
    public static RankInfo single() {
        return new RankInfo(0, 1, 0, 1, 0, "default");
    }

    public static RankInfo fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    public static RankInfo fromEnvironment(Map<String, String> env) {
        int node = intOr(env, "SLURM_NODEID", 0);
        if (env.containsKey("OMPI_COMM_WORLD_RANK")) {
            int rank = intVar(env, "OMPI_COMM_WORLD_RANK");
            int size = intVar(env, "OMPI_COMM_WORLD_SIZE");
            int local = intOr(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0);
            int localSize = intOr(env, "OMPI_COMM_WORLD_LOCAL_SIZE", 1);
            return new RankInfo(rank, size, local, localSize, node, "OMPI_COMM_WORLD_*");
        }
        if (env.containsKey("PMIX_RANK")) {
            int rank = intVar(env, "PMIX_RANK");
            int size = intOr(env, "SLURM_NTASKS", intOr(env, "SLURM_NPROCS", rank + 1));
            int local = intOr(env, "SLURM_LOCALID", 0);
            int localSize = tasksOnNode(env, node, local);
            return new RankInfo(rank, size, local, localSize, node, "PMIX_RANK");
        }
        if (env.containsKey("SLURM_PROCID")) {
            int rank = intVar(env, "SLURM_PROCID");
            int size = intOr(env, "SLURM_NTASKS", intOr(env, "SLURM_NPROCS", rank + 1));
            int local = intOr(env, "SLURM_LOCALID", 0);
            int localSize = tasksOnNode(env, node, local);
            return new RankInfo(rank, size, local, localSize, node, "SLURM_PROCID");
        }
        return single();
    }

    /**
     * Tasks on node {@code node} from {@code SLURM_TASKS_PER_NODE} ("2(x3),1" = 2,2,2,1), else
     * {@code SLURM_NTASKS_PER_NODE}; at least {@code localRank + 1}.
     */
    static int tasksOnNode(Map<String, String> env, int node, int localRank) {
        String spec = env.get("SLURM_TASKS_PER_NODE");
        int found = -1;
        if (spec != null && !spec.isBlank()) {
            int index = 0;
            for (String part : spec.trim().split(",")) {
                int count;
                int repeat = 1;
                int paren = part.indexOf("(x");
                try {
                    if (paren >= 0) {
                        count = Integer.parseInt(part.substring(0, paren));
                        repeat = Integer.parseInt(part.substring(paren + 2, part.indexOf(')', paren)));
                    } else {
                        count = Integer.parseInt(part);
                    }
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("SLURM_TASKS_PER_NODE='" + spec + "' is not of the form 2(x3),1", e);
                }
                if (node < index + repeat) {
                    found = count;
                    break;
                }
                index += repeat;
            }
        }
        if (found < 0) {
            found = intOr(env, "SLURM_NTASKS_PER_NODE", 1);
        }
        return Math.max(found, localRank + 1);
    }

    private static int intVar(Map<String, String> env, String name) {
        String v = env.get(name);
        try {
            return Integer.parseInt(v.trim());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("environment variable " + name + "='" + v + "' is not an integer", e);
        }
    }

    private static int intOr(Map<String, String> env, String name, int fallback) {
        return env.containsKey(name) ? intVar(env, name) : fallback;
    }

    @Override
    public String toString() {
        return "rank " + worldRank + "/" + worldSize + ", local " + localRank + "/" + localSize
                + ", node " + nodeIndex + " (from " + source + ")";
    }
}
