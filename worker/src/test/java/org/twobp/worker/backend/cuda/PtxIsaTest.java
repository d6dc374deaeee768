package org.twobp.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PTX written by an nvcc newer than a node's driver: the device relabels its ISA to what the
 * driver reads. That is only sound if the kernels use nothing newer, which this test checks with
 * the build's own ptxas: every PTX file of the build, labelled ISA 8.0 (CUDA 12.0), assembles for
 * its target.
 */
class PtxIsaTest {

    @Test
    void driverVersionsMapToTheIsaTheyRead() {
        assertEquals("8.0", JcudaDevice.maxPtxIsa(12000));
        assertEquals("8.4", JcudaDevice.maxPtxIsa(12040));
        assertEquals("8.5", JcudaDevice.maxPtxIsa(12060));
        assertEquals("8.8", JcudaDevice.maxPtxIsa(12090));
        assertEquals("9.0", JcudaDevice.maxPtxIsa(13000));
        assertEquals("7.8", JcudaDevice.maxPtxIsa(11080));
        assertNull(JcudaDevice.maxPtxIsa(10020));
        assertTrue(JcudaDevice.isaBelow("8.4", "9.0"));
        assertTrue(JcudaDevice.isaBelow("8.4", "8.10"));
        assertFalse(JcudaDevice.isaBelow("9.0", "9.0"));
    }

    @Test
    void relabellingChangesOnlyTheVersionLine() {
        byte[] ptx = "//\n// Generated\n.version 9.0\n.target sm_90\n.address_size 64\n".getBytes(StandardCharsets.US_ASCII);
        byte[] out = JcudaDevice.relabel(ptx, "8.4");
        assertEquals("8.4", JcudaDevice.ptxVersion(out));
        assertEquals("//\n// Generated\n.version 8.4\n.target sm_90\n.address_size 64\n",
                new String(out, StandardCharsets.US_ASCII));
    }

    @Test
    void everyKernelAssemblesWhenLabelledIsa80(@TempDir Path dir) throws Exception {
        Path ptxas = Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
                .map(p -> Path.of(p, "ptxas")).filter(Files::isExecutable).findFirst()
                .orElse(Path.of("/usr/local/cuda/bin/ptxas"));
        Assumptions.assumeTrue(Files.isExecutable(ptxas), "no ptxas (the build had no CUDA toolkit, so no PTX either)");
        List<String> files = JcudaDevice.ptxFiles(getClass().getClassLoader());
        assertTrue(files.size() >= 9, "the build's PTX files: " + files);
        for (String f : files) {
            byte[] text;
            try (InputStream in = getClass().getClassLoader().getResourceAsStream(JcudaDevice.PTX_DIR + f)) {
                text = in.readAllBytes();
            }
            String target = new String(text, 0, Math.min(text.length, 4096), StandardCharsets.US_ASCII)
                    .lines().filter(l -> l.startsWith(".target ")).findFirst().orElseThrow().substring(8).trim();
            Path p = dir.resolve(f);
            Files.write(p, JcudaDevice.relabel(text, "8.0"));
            Process proc = new ProcessBuilder(ptxas.toString(), "-arch=" + target, p.toString(), "-o",
                    dir.resolve(f + ".cubin").toString()).redirectErrorStream(true).start();
            String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(proc.waitFor(120, TimeUnit.SECONDS), "ptxas on " + f);
            assertEquals(0, proc.exitValue(), f + " does not assemble as ISA 8.0 for " + target + ":\n" + out);
        }
    }
}
