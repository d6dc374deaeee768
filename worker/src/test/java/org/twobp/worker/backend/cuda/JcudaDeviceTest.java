package org.twobp.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real-GPU device. Without a GPU, opening it must fail with a message that says why and
 * names the CPU backend; with one, memory, copies and events must work (no kernel is launched, so
 * that this test does not depend on the kernels).
 */
class JcudaDeviceTest {

    /** A GPU is present when nvidia-smi lists one or the driver's device file exists. */
    static boolean gpuPresent() {
        if (Files.exists(Path.of("/dev/nvidia0"))) {
            return true;
        }
        try {
            Process p = new ProcessBuilder("nvidia-smi", "-L").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0 && out.contains("GPU ");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Test
    void withoutAGpuOpeningFailsWithTheReasonAndTheCpuHint() {
        Assumptions.assumeFalse(gpuPresent(), "this machine has a GPU: see opensAndCopiesOnTheGpu");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> JcudaDevice.open(0, 1));
        String m = e.getMessage();
        assertTrue(m.contains("train.backend=cpu"), m);
        assertTrue(m.contains("libcuda") || m.contains("driver") || m.contains(LocalGpu.VISIBLE_DEVICES), m);
        assertTrue(m.length() < 600 && !m.contains("\n"), "one line, not JCuda's stack traces: " + m);
        // a second attempt in the same process gives the same reason, not NoClassDefFoundError
        IllegalStateException again = assertThrows(IllegalStateException.class, () -> JcudaDevice.open(0, 1));
        assertEquals(m, again.getMessage());
    }

    @Test
    void opensAndCopiesOnTheGpu() {
        Assumptions.assumeTrue(gpuPresent(), "no GPU on this machine");
        try (JcudaDevice d = JcudaDevice.open(0, 1, false)) {
            assertTrue(d.computeCapability() >= 50, d.name());
            assertTrue(d.name().contains("(sm_" + d.computeCapability() + ")"), d.name());
            assertTrue(d.totalMemory() > 0 && d.freeMemory() > 0 && d.freeMemory() <= d.totalMemory());
            assertTrue(d.describe().contains("driver CUDA"), d.describe());
            assertTrue((d.blas() == null) == (d.blasUnavailableReason() != null), d.describe());

            float[] src = new float[1000];
            for (int i = 0; i < src.length; i++) {
                src[i] = i * 0.5f - 7;
            }
            long a = d.malloc(4L * src.length);
            long b = d.malloc(4L * src.length);
            d.copyHostToDevice(a, src, 0, src.length);
            d.copyDeviceToDevice(b, a, 4L * src.length);
            float[] back = new float[src.length];
            d.copyDeviceToHost(back, 0, b, src.length);
            assertArrayEquals(src, back);

            // offsets on both sides, and an int copy
            d.copyHostToDevice(a + 40, new int[] {1, 2, 3, 4}, 1, 2);
            float[] two = new float[3];
            d.copyDeviceToHost(two, 1, a + 40, 2);
            assertEquals(2, Float.floatToRawIntBits(two[1]));
            assertEquals(3, Float.floatToRawIntBits(two[2]));

            d.memset32(b, Float.floatToRawIntBits(1.5f), 10);
            d.copyDeviceToHost(back, 0, b, 11);
            assertEquals(1.5f, back[9]);
            assertEquals(src[10], back[10]);

            ByteBuffer pin = d.allocatePinned(4 * 16);
            ByteBuffer out = d.allocatePinned(4 * 16);
            for (int i = 0; i < 16; i++) {
                pin.putFloat(4 * i, i + 0.25f);
            }
            d.copyHostToDeviceAsync(a, pin, 4 * 16);
            d.synchronizeCopies();
            d.copyDeviceToHostAsync(out, a, 4 * 16);
            d.synchronizeCopies();
            for (int i = 0; i < 16; i++) {
                assertEquals(i + 0.25f, out.getFloat(4 * i));
            }
            d.freePinned(pin);
            d.freePinned(out);

            long e0 = d.recordEvent();
            d.memset32(a, 0, src.length);
            long e1 = d.recordEvent();
            assertTrue(d.elapsedMillis(e0, e1) >= 0);
            d.destroyEvent(e0);
            d.destroyEvent(e1);

            assertThrows(IllegalArgumentException.class, () -> d.launch("no_such_kernel", 1, 1, 1, 32, 1, 1, 0,
                    KernelArgs.of()));
            assertThrows(DeviceOutOfMemoryException.class, () -> d.malloc(d.totalMemory() * 4));
            d.free(a);
            d.free(b);
            assertThrows(IllegalArgumentException.class, () -> d.free(a));
            d.synchronize();
        }
    }

    @Test
    void opensWithTheKernelsOnTheGpu() {
        Assumptions.assumeTrue(gpuPresent(), "no GPU on this machine");
        Assumptions.assumeTrue(JcudaDeviceTest.class.getClassLoader().getResource(JcudaDevice.PTX_DIR
                + JcudaDevice.PTX_UNAVAILABLE) == null, "the kernels were not built (no nvcc)");
        try (JcudaDevice d = JcudaDevice.open(0, 1)) {
            assertTrue(d.describe().contains("PTX sm_"), d.describe());
        } catch (IllegalStateException e) {
            // PTX from an nvcc newer than this node's driver: an installation matter the message explains
            Assumptions.assumeFalse(e.getMessage().contains("rebuild the worker with an nvcc"), e.getMessage());
            throw e;
        }
    }

    @Test
    void ptxIsListedFromAFolderAJarOrAnIndex(@TempDir Path dir) throws IOException {
        Path folder = dir.resolve("classes");
        Path ptx = folder.resolve(JcudaDevice.PTX_DIR);
        Files.createDirectories(ptx);
        for (String f : new String[] {"gemm.sm75.ptx", "gemm.sm90.ptx", "norm.sm80.ptx", "README"}) {
            Files.writeString(ptx.resolve(f), ".version 8.4\n");
        }
        try (URLClassLoader l = new URLClassLoader(new URL[] {folder.toUri().toURL()}, null)) {
            assertEquals(List.of("gemm.sm75.ptx", "gemm.sm90.ptx", "norm.sm80.ptx"), JcudaDevice.ptxFiles(l));
        }
        Path jar = dir.resolve("w.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry(JcudaDevice.PTX_DIR));
            out.closeEntry();
            for (String f : new String[] {"a.sm80.ptx", "b.sm75.ptx"}) {
                out.putNextEntry(new JarEntry(JcudaDevice.PTX_DIR + f));
                out.write(".version 8.4\n".getBytes(StandardCharsets.US_ASCII));
                out.closeEntry();
            }
        }
        try (URLClassLoader l = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null)) {
            assertEquals(List.of("a.sm80.ptx", "b.sm75.ptx"), JcudaDevice.ptxFiles(l));
        }
        Files.writeString(ptx.resolve(JcudaDevice.PTX_INDEX), "# built\nnorm.sm80.ptx\n\ngemm.sm90.ptx\n");
        try (URLClassLoader l = new URLClassLoader(new URL[] {folder.toUri().toURL()}, null)) {
            assertEquals(List.of("gemm.sm90.ptx", "norm.sm80.ptx"), JcudaDevice.ptxFiles(l));
        }
    }

    @Test
    void versionsAreReadAsTheDriverAndNvccWriteThem() {
        String ptx = "//\n// Generated by NVIDIA NVVM Compiler\n\n.version 8.4\n.target sm_80\n";
        assertEquals("8.4", JcudaDevice.ptxVersion(ptx.getBytes(StandardCharsets.US_ASCII)));
        assertEquals("?", JcudaDevice.ptxVersion(".target sm_80\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("12.4", JcudaDevice.cudaVersion(12040));
        assertEquals("13.0", JcudaDevice.cudaVersion(13000));
        assertEquals("8.9.7", Cudnn.version(8907));
        assertEquals("9.1.0", Cudnn.version(90100));
    }

    @Test
    void jcudaLoadErrorsAreCondensedToTheLineThatMatters() {
        String jcuda = "Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\"\n"
                + "Stack trace from the attempt to load the library as a file:\n"
                + "java.lang.UnsatisfiedLinkError: no JCudaDriver-12.6.0-linux-x86_64 in java.library.path: /usr/lib\n"
                + "\tat java.base/java.lang.ClassLoader.loadLibrary(ClassLoader.java:2434)\n"
                + "Stack trace from the attempt to load the library as a resource:\n"
                + "java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot"
                + " open shared object file: No such file or directory\n"
                + "\tat java.base/jdk.internal.loader.NativeLibraries.load(Native Method)\n";
        assertEquals("libcuda.so.1: cannot open shared object file: No such file or directory",
                JcudaDevice.nativeLoadReason(new UnsatisfiedLinkError(jcuda)));
        String resource = "Error while loading native library \"JCudnn-12.6.0-linux-x86_64\"\n"
                + "java.io.IOException: No resource found with name '/lib/libJCudnn-12.6.0-linux-x86_64.so'\n";
        assertTrue(JcudaDevice.nativeLoadReason(new UnsatisfiedLinkError(resource))
                .contains("/lib/libJCudnn-12.6.0-linux-x86_64.so is not on the class path"));
        assertTrue(JcudaDevice.nativeLoadReason(new NoClassDefFoundError(
                "Could not initialize class jcuda.driver.JCudaDriver")).startsWith("an earlier attempt"));
    }
}
