package org.twobp.tests.transport;

import org.twobp.mpi.MpiTransport;
import org.twobp.mpi.RankInfo;

/**
 * Compares the rank a process reads from its environment before MPI starts with the rank MPI
 * gives it, under whichever launcher started it (mpirun, mpirun inside sbatch, srun --mpi=pmix).
 * Prints one {@code rankcheck:} line per rank and exits 5 when they disagree.
 */
public final class RankCheck {

    private RankCheck() {
    }

    public static void main(String[] args) {
        RankInfo env = RankInfo.fromEnvironment();
        MpiTransport t = MpiTransport.init(args);
        RankInfo mpi = t.rankInfo();
        boolean agree = env.worldRank() == mpi.worldRank() && env.worldSize() == mpi.worldSize()
                && env.localRank() == mpi.localRank() && env.localSize() == mpi.localSize()
                && env.nodeIndex() == mpi.nodeIndex();
        System.out.println("rankcheck: rank " + mpi.worldRank() + " env=[" + env + "] mpi=[" + mpi + "] agree=" + agree
                + " SLURM_PROCID=" + System.getenv("SLURM_PROCID"));
        System.out.flush();
        t.barrier();
        t.close();
        if (!agree) {
            System.exit(5);
        }
    }
}
