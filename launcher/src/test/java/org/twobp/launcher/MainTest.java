package org.twobp.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class MainTest {

    private static String[] captured(Runnable r) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true));
        System.setErr(new PrintStream(e, true));
        try {
            r.run();
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new String[] {o.toString(), e.toString()};
    }

    @Test
    void usageErrorsExitTwoAndPointAtHelp() {
        int[] code = new int[1];
        String[] io = captured(() -> code[0] = Main.run(new String[] {"env", "--no-such-option"}));
        assertEquals(2, code[0]);
        assertTrue(io[1].contains("twobp env --help"), io[1]);
        io = captured(() -> code[0] = Main.run(new String[] {"trian"}));
        assertEquals(2, code[0]);
        assertTrue(io[1].contains("unknown command 'trian'") && io[1].contains("env"), io[1]);
        io = captured(() -> code[0] = Main.run(new String[0]));
        assertEquals(2, code[0]);
        io = captured(() -> code[0] = Main.run(new String[] {"env", "--nproc", "x"}));
        assertEquals(2, code[0]);
        assertTrue(io[1].contains("--nproc needs a whole number, got 'x'"), io[1]);
    }

    @Test
    void helpExitsZeroAndListsOptions() {
        int[] code = new int[1];
        String[] io = captured(() -> code[0] = Main.run(new String[] {"env", "--help"}));
        assertEquals(0, code[0]);
        assertTrue(io[0].contains("--selftest") && io[0].contains("--nproc"), io[0]);
        io = captured(() -> code[0] = Main.run(new String[] {"--help"}));
        assertEquals(0, code[0]);
        assertTrue(io[0].contains("env "), io[0]);
    }

    private static Environment env(Map<String, String> vars, int gpus) {
        List<String> g = new java.util.ArrayList<>();
        for (int i = 0; i < gpus; i++) {
            g.add("GPU " + i + ": test");
        }
        return new Environment(vars, "4.1.4", "/opt/ompi/lib", true, true, g, "OpenBLAS");
    }

    @Test
    void warnsWhenTasksDoNotMatchGpus() {
        Map<String, String> v = new HashMap<>(Map.of("SLURM_JOB_ID", "7", "SLURM_NTASKS", "2", "SLURM_NNODES", "1",
                "SLURM_GPUS_ON_NODE", "4"));
        List<String> w = env(v, 4).warnings();
        assertTrue(w.stream().anyMatch(s -> s.contains("2 tasks but 4 GPU(s)")), w.toString());
        v.put("SLURM_NTASKS", "4");
        assertTrue(env(v, 4).warnings().isEmpty(), env(v, 4).warnings().toString());
    }

    @Test
    void warnsWhenLocalRanksShareAVisibleGpu() {
        Map<String, String> v = Map.of("OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "4",
                "OMPI_COMM_WORLD_LOCAL_RANK", "0", "OMPI_COMM_WORLD_LOCAL_SIZE", "4", "CUDA_VISIBLE_DEVICES", "0,1");
        List<String> w = env(v, 2).warnings();
        assertTrue(w.stream().anyMatch(s -> s.contains("some ranks would share a GPU")), w.toString());
    }

    @Test
    void selfTestUsesSrunInsideAnAllocationAndMpirunOutside() {
        List<String> outside = EnvCommand.selfTestCommand(env(Map.of(), 0), 3, null);
        assertEquals(List.of("mpirun", "--oversubscribe", "-np", "3"), outside.subList(0, 4));
        assertTrue(outside.get(outside.size() - 1).equals("org.twobp.mpi.SelfTest"));
        List<String> inside = EnvCommand.selfTestCommand(env(Map.of("SLURM_JOB_ID", "9"), 0), 3, "1M");
        assertEquals(List.of("srun", "--mpi=pmix", "--kill-on-bad-exit=1"), inside.subList(0, 3));
        assertTrue(inside.contains("-Djava.library.path=/opt/ompi/lib" + java.io.File.pathSeparator
                + System.getProperty("java.library.path")) || inside.stream().anyMatch(s -> s.startsWith("-Djava.library.path=/opt/ompi/lib")));
        assertEquals(List.of("--max-bytes", "1M"), inside.subList(inside.size() - 2, inside.size()));
    }
}
