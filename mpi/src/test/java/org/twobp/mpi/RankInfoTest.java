package org.twobp.mpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

class RankInfoTest {

    @Test
    void mpirunInsideAnAllocationTrustsOmpiOverTheInheritedSlurmIds() {
        // measured: under mpirun in sbatch every rank sees SLURM_PROCID=0 and SLURM_LOCALID=0
        RankInfo r = RankInfo.fromEnvironment(Map.of(
                "OMPI_COMM_WORLD_RANK", "3", "OMPI_COMM_WORLD_SIZE", "4",
                "OMPI_COMM_WORLD_LOCAL_RANK", "1", "OMPI_COMM_WORLD_LOCAL_SIZE", "2",
                "PMIX_RANK", "3", "SLURM_PROCID", "0", "SLURM_LOCALID", "0", "SLURM_NODEID", "1",
                "SLURM_NTASKS", "4"));
        assertEquals(new RankInfo(3, 4, 1, 2, 1, "OMPI_COMM_WORLD_*"), r);
    }

    @Test
    void srunWithPmixHasNoOmpiVariables() {
        RankInfo r = RankInfo.fromEnvironment(Map.of(
                "PMIX_RANK", "5", "SLURM_PROCID", "5", "SLURM_LOCALID", "1", "SLURM_NODEID", "2",
                "SLURM_NTASKS", "8", "SLURM_TASKS_PER_NODE", "2(x4)"));
        assertEquals(new RankInfo(5, 8, 1, 2, 2, "PMIX_RANK"), r);
    }

    @Test
    void plainSrunFallsBackToSlurm() {
        RankInfo r = RankInfo.fromEnvironment(Map.of(
                "SLURM_PROCID", "6", "SLURM_LOCALID", "0", "SLURM_NODEID", "3",
                "SLURM_NTASKS", "7", "SLURM_TASKS_PER_NODE", "2(x3),1"));
        assertEquals(new RankInfo(6, 7, 0, 1, 3, "SLURM_PROCID"), r);
    }

    @Test
    void nothingSetIsOneProcess() {
        assertEquals(RankInfo.single(), RankInfo.fromEnvironment(Map.of()));
    }

    @Test
    void tasksPerNodeParsesSlurmsCompressedForm() {
        Map<String, String> env = Map.of("SLURM_TASKS_PER_NODE", "4(x2),3,2(x2)");
        assertEquals(4, RankInfo.tasksOnNode(env, 0, 0));
        assertEquals(4, RankInfo.tasksOnNode(env, 1, 0));
        assertEquals(3, RankInfo.tasksOnNode(env, 2, 0));
        assertEquals(2, RankInfo.tasksOnNode(env, 4, 0));
        assertEquals(8, RankInfo.tasksOnNode(Map.of("SLURM_NTASKS_PER_NODE", "8"), 5, 0));
    }

    @Test
    void badValuesAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                RankInfo.fromEnvironment(Map.of("OMPI_COMM_WORLD_RANK", "x", "OMPI_COMM_WORLD_SIZE", "2")));
        assertTrue(e.getMessage().contains("OMPI_COMM_WORLD_RANK='x'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () ->
                RankInfo.fromEnvironment(Map.of("OMPI_COMM_WORLD_RANK", "2", "OMPI_COMM_WORLD_SIZE", "2")));
        assertTrue(e.getMessage().contains("world rank 2 of 2"), e.getMessage());
    }
}
