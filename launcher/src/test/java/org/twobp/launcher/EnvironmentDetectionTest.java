package org.twobp.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.junit.jupiter.api.Test;
import org.twobp.mpi.RankInfo;

/**
 * Detection from faked environments, as each launcher leaves them (variables as measured on a
 * real local Slurm 22.05 with Open MPI 4.1 and PMIx 4): what the report shows, which rank a
 * process is, what looks wrong, and what 'twobp train' then does.
 */
class EnvironmentDetectionTest {

    static Environment env(Map<String, String> vars, int gpus) {
        List<String> g = new ArrayList<>();
        for (int i = 0; i < gpus; i++) {
            g.add("GPU " + i + ": NVIDIA H100 (UUID: GPU-" + i + ")");
        }
        Map<String, String> withPath = new java.util.HashMap<>(vars);
        withPath.putIfAbsent("PATH", System.getenv().getOrDefault("PATH", ""));  // mpirun and sbatch as installed
        return new Environment(withPath, "4.1.4", "/opt/openmpi/lib", true, true, g, "OpenBLAS");
    }

    /** The batch shell of {@code sbatch -N1 -n2}: Slurm's job variables, no rank of its own. */
    static Map<String, String> batchShell() {
        Map<String, String> v = new HashMap<>();
        v.put("SLURM_JOB_ID", "42");
        v.put("SLURM_NTASKS", "2");
        v.put("SLURM_NPROCS", "2");
        v.put("SLURM_NNODES", "1");
        v.put("SLURM_NODEID", "0");
        v.put("SLURM_PROCID", "0");
        v.put("SLURM_LOCALID", "0");
        v.put("SLURM_JOB_NODELIST", "node7");
        v.put("SLURM_TASKS_PER_NODE", "2");
        v.put("SLURM_CPUS_ON_NODE", "2");
        return v;
    }

    @Test
    void mpirunInsideSbatchTakesTheRankFromOpenMpiNotFromSlurm() {
        Map<String, String> v = batchShell();   // every rank inherits SLURM_PROCID=0 from the batch shell
        v.putAll(Map.of("OMPI_COMM_WORLD_RANK", "1", "OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_RANK", "1",
                "OMPI_COMM_WORLD_LOCAL_SIZE", "2", "PMIX_RANK", "1", "PMIX_NAMESPACE", "1234567"));
        Environment e = env(v, 0);
        RankInfo r = e.rankInfo();
        assertEquals(1, r.worldRank());
        assertEquals(2, r.worldSize());
        assertEquals(1, r.localRank());
        assertEquals("OMPI_COMM_WORLD_*", r.source());
        String report = e.report();
        assertTrue(report.contains("Slurm         job 42, 2 tasks on node7, tasks per node 2"), report);
        assertTrue(report.contains("OMPI_COMM_WORLD_RANK  1") && report.contains("SLURM_PROCID          0"), report);
        v.put("SLURM_RESTART_COUNT", "2");
        assertTrue(env(v, 0).report().contains("SLURM_RESTART_COUNT   2"), "a requeued job says so");
        assertTrue(e.warnings().isEmpty(), e.warnings().toString());
    }

    @Test
    void srunWithPmixTakesTheRankFromPmixAndTheNodeLayoutFromSlurm() {
        Map<String, String> v = batchShell();
        v.putAll(Map.of("SLURM_NTASKS", "4", "SLURM_NNODES", "2", "SLURM_NODEID", "1", "SLURM_PROCID", "3",
                "SLURM_LOCALID", "1", "SLURM_TASKS_PER_NODE", "2(x2)", "SLURM_STEP_ID", "0", "PMIX_RANK", "3",
                "PMIX_NAMESPACE", "slurm.pmix.42.0"));
        Environment e = env(v, 0);
        RankInfo r = e.rankInfo();
        assertEquals(3, r.worldRank());
        assertEquals(4, r.worldSize());
        assertEquals(1, r.localRank());
        assertEquals(2, r.localSize());
        assertEquals(1, r.nodeIndex());
        assertEquals("PMIX_RANK", r.source());
        assertTrue(e.report().contains("PMIX_NAMESPACE        slurm.pmix.42.0"), e.report());
    }

    @Test
    void plainMpirunWithoutSlurm() {
        Environment e = env(Map.of("OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "4",
                "OMPI_COMM_WORLD_LOCAL_RANK", "0", "OMPI_COMM_WORLD_LOCAL_SIZE", "4"), 0);
        assertFalse(e.inSlurmAllocation());
        assertEquals(-1, e.slurmTasks());
        assertEquals(4, e.rankInfo().worldSize());
        assertTrue(e.report().contains("Slurm         not inside an allocation"), e.report());
    }

    @Test
    void nothingLaunchedThisProcess() {
        Environment e = env(Map.of(), 0);
        assertEquals(RankInfo.single(), e.rankInfo());
        assertTrue(e.report().contains("GPUs          none (CPU backend)"), e.report());
    }

    @Test
    void missingOpenMpiAndBindingsAreNamedWithTheFix() {
        Environment e = new Environment(Map.of(), null, null, false, false, List.of(), "none");
        String w = String.join("\n", e.warnings());
        assertTrue(w.contains("Open MPI not found") && w.contains("apt-get install openmpi-bin"), w);
        assertTrue(w.contains("mpi.jar") && w.contains("make build"), w);
        assertTrue(e.report().contains("mpi.jar       MISSING"), e.report());
    }

    @Test
    void tasksThatDoNotMatchTheGpusOfTheAllocation() {
        Map<String, String> v = batchShell();
        v.put("SLURM_GPUS_ON_NODE", "4");
        List<String> w = env(v, 4).warnings();
        assertTrue(w.stream().anyMatch(s -> s.contains("2 tasks but 4 GPU(s) per node") && s.contains("--ntasks-per-node=4")),
                w.toString());
    }

    @Test
    void oneVisibleGpuPerTaskIsPointedOut() {
        Map<String, String> v = batchShell();
        v.putAll(Map.of("OMPI_COMM_WORLD_RANK", "1", "OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_RANK", "1",
                "OMPI_COMM_WORLD_LOCAL_SIZE", "2", "CUDA_VISIBLE_DEVICES", "1", "SLURM_GPUS_ON_NODE", "2"));
        List<String> w = env(v, 1).warnings();
        assertTrue(w.stream().anyMatch(s -> s.contains("CUDA_VISIBLE_DEVICES=1 shows one GPU to each of 2 ranks")),
                w.toString());
    }

    private static TrainCommand.Ranks ranks(Environment e, String... args) throws Exception {
        CommandLine cl = new DefaultParser().parse(TrainCommand.options(), args);
        return TrainCommand.ranks("train", e, cl);
    }

    @Test
    void trainPicksItsRankCountFromWhatItFinds() throws Exception {
        assertEquals(2, ranks(env(Map.of(), 0)).count(), "no GPU, no allocation: 2 CPU ranks");
        assertEquals(4, ranks(env(Map.of(), 4)).count(), "one rank per GPU");
        assertEquals(3, ranks(env(Map.of(), 4), "--nproc", "3").count());
        Map<String, String> v = batchShell();
        v.put("SLURM_NTASKS", "6");
        TrainCommand.Ranks inJob = ranks(env(v, 0));
        assertEquals(6, inJob.count(), "inside an allocation: its tasks");
        assertTrue(inJob.why().contains("Slurm job 42"), inJob.why());
        UsageException tooMany = assertThrows(UsageException.class, () -> ranks(env(v, 0), "--nproc", "8"));
        assertTrue(tooMany.getMessage().contains("has 6 task(s)"), tooMany.getMessage());
    }

    @Test
    void insideAnAllocationMpirunUsesItsSlotsWithoutOversubscribing() {
        RunFolder run = new RunFolder(Path.of("/scratch/runs/x"));
        Site site = new Site("/jdk/bin/java", "/opt/twobp/lib/*", "/ompi/lib", null);
        LocalLaunch outside = new LocalLaunch(site, false, 2, run, "auto", List.of(), run.logs().resolve("a"), false);
        LocalLaunch inside = new LocalLaunch(site, true, 6, run, "auto", List.of(), run.logs().resolve("a"), true);
        assertEquals(List.of("mpirun", "--oversubscribe", "-np", "2"), outside.command().subList(0, 4));
        assertEquals(List.of("mpirun", "-np", "6"), inside.command().subList(0, 3));
        assertTrue(inside.commandLine().startsWith("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun"),
                inside.commandLine());
        assertTrue(inside.commandLine().contains("-cp '/opt/twobp/lib/*' org.twobp.worker.pipeline.WorkerMain --config"
                + " /scratch/runs/x/config.toml --run-dir /scratch/runs/x --from auto"), inside.commandLine());
    }
}
