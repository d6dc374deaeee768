package org.twobp.worker.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Tensor;

/** Choosing a backend: by name, with clear errors, and without JCuda on the CPU path. */
class BackendsTest {

    @Test
    void cpuAndEmulatedCudaBackendsOpenByName() {
        try (Backend cpu = Backends.create("cpu", "fp32", 1, 0, 1)) {
            assertEquals("cpu", cpu.name());
        }
        try (Backend emu = Backends.create("cuda-emulated", "bf16", 0, 0, 1)) {
            assertEquals("cuda-emulated", emu.name());
            assertTrue(emu.describe().contains("precision bf16"), emu.describe());
            Tensor t = emu.allocate(MemoryCategory.ACTIVATIONS, 3);
            emu.copyFromHost(new float[] {1, 2, 3}, 0, t);
            emu.scale(t, 2f);
            assertEquals(6f, emu.toHost(t)[2]);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Backends.create("tpu", "fp32", 1, 0, 1));
        assertTrue(e.getMessage().contains("auto, cpu, cuda or cuda-emulated"), e.getMessage());
    }

    @Test
    void autoChoosesTheCpuWithoutAGpu() {
        Assumptions.assumeFalse(Backends.gpuPresent(), "this machine has a GPU");
        try (Backend b = Backends.create("auto", "fp32", 1, 0, 1)) {
            assertEquals("cpu", b.name());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Backends.create("auto", "bf16", 1, 0, 1));
        assertTrue(e.getMessage().contains("needs a GPU"), e.getMessage());
    }

    @Test
    void cudaWithoutADriverSaysWhatToDo() {
        Assumptions.assumeFalse(Backends.gpuPresent(), "this machine has a GPU");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Backends.create("cuda", "fp32", 1, 0, 1));
        assertTrue(e.getMessage().contains("libcuda"), e.getMessage());
        assertTrue(e.getMessage().contains("train.backend=cpu"), e.getMessage());
    }

    /** A CPU run in a fresh JVM loads no JCuda class and no class of the CUDA backend. */
    @Test
    void aCpuRunNeverLoadsJcuda() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path config = Path.of("..", "configs", "llama-tiny.toml");
        assertTrue(Files.exists(config), "run from the worker module: " + config.toAbsolutePath());
        ProcessBuilder pb = new ProcessBuilder(java, "-Xlog:class+load=info", "-cp", System.getProperty("java.class.path"),
                "org.twobp.worker.train.TrainMain", "--config", config.toString(), "--steps", "2").redirectErrorStream(true);
        Process p = pb.start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
            }
        }
        assertEquals(0, p.waitFor(), String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size())));
        assertTrue(lines.stream().anyMatch(l -> l.contains("org.twobp.worker.backend.cpu.CpuBackend ")),
                "the class-load log works (CpuBackend appears)");
        List<String> cuda = lines.stream().filter(l -> l.contains(" jcuda.") || l.contains("org.twobp.worker.backend.cuda."))
                .toList();
        assertTrue(cuda.isEmpty(), "a CPU run loaded " + cuda);
    }
}
