package org.twobp.tests.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.tests.MpiRun;
import org.twobp.worker.pipeline.SingleProcessReference;
import org.twobp.worker.pipeline.WeightFiles;
import org.twobp.worker.pipeline.WorkerMain;

/**
 * The rank's main under real {@code mpirun} with the CUDA backend (its kernels on the host
 * emulator: CI has no GPU) ends with the weights of the same run on the CPU backend: messages
 * leave and enter device memory through the backend's transfer buffers, and the three processes
 * each load the kernels; the middle one receives and sends in both directions. AdamW, so the
 * pipeline tolerance of 1e-3 relative applies.
 */
class MpiCudaBackendTest {

    private static final String CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize()
            .toString();

    private static final int RANKS = 3;

    private static MpiRun.Result run(String backend, Path weights) {
        return MpiRun.run(RANKS, 300, WorkerMain.class.getName(), "--config", CONFIG, "--set", "train.steps=3",
                "--set", "train.backend=" + backend, "--set", "train.threads=1", "--set", "pipeline.schedule=zb-h1",
                "--dump-weights", weights.toString());
    }

    @Test
    void threeRanksOnTheCudaBackendEqualTheCpuRun(@TempDir Path dir) {
        MpiRun.Result cuda = run("cuda-emulated", dir.resolve("cuda"));
        assertEquals(0, cuda.exitCode(), "mpirun with the CUDA backend failed:\n" + cuda.output());
        assertTrue(cuda.output().contains("cuda backend: host emulator"), "the ranks ran the CUDA backend:\n"
                + cuda.output());
        MpiRun.Result cpu = run("cpu", dir.resolve("cpu"));
        assertEquals(0, cpu.exitCode(), "mpirun with the CPU backend failed:\n" + cpu.output());
        Map<String, float[]> a = WeightFiles.read(dir.resolve("cuda"));
        Map<String, float[]> b = WeightFiles.read(dir.resolve("cpu"));
        assertEquals(b.keySet(), a.keySet(), "the same tensors");
        double diff = SingleProcessReference.maxRelativeDifference(a, b);
        System.out.printf("mpirun -np %d llama-tiny ZB-H1+2BP, 3 AdamW steps: CUDA (emulated) vs CPU max relative weight"
                + " difference %.2e (%.1f s vs %.1f s)%n", RANKS, diff, cuda.seconds(), cpu.seconds());
        assertTrue(diff <= 1e-3, "CUDA and CPU runs differ by " + diff + " relative (tolerance 1e-3)");
        assertTrue(diff > 0, "the two runs computed differently (else this compares a backend with itself)");
    }
}
