package org.twobp.worker.backend.cuda.emu;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Objects;
import org.twobp.worker.backend.cuda.KernelArgs;

/**
 * The CUDA kernel emulator: the worker's {@code .cu} kernels compiled for the host
 * ({@code src/main/cuda/emulator}) and run on the CPU, so that every kernel and the whole CUDA
 * backend are tested on machines without a GPU. Blocks run one after another on the calling
 * thread; the threads of a block are fibers that switch at {@code __syncthreads} and warp
 * intrinsics, with the barrier semantics of Volta and newer GPUs.
 *
 * <p>Device memory is host memory; addresses are plain {@code long}s as on a GPU. The emulator
 * checks what a GPU would not: copies and pointer arguments must lie in live allocations, new
 * allocations read as NaN ({@code 0xFF} bytes) until written, red zones around each allocation
 * are checked after every launch (a kernel writing out of bounds fails its launch), and a block
 * whose threads wait at different barriers is reported as a deadlock instead of hanging.
 *
 * <p>The library is the class-path resource {@code /native/linux-<arch>/libtwobp-cudaemu.so},
 * built at Maven's generate-resources phase when g++ is available; the system property
 * {@value #LIBRARY_PROPERTY} names another file. Calls are serialised by the library. Errors:
 * {@link IllegalArgumentException} for bad arguments, {@link IllegalStateException} for a failed
 * launch (out-of-bounds write, deadlock, assertion), and
 * {@link org.twobp.worker.backend.cuda.DeviceOutOfMemoryException} past {@link #setMemoryLimit}.
 */
public final class EmulatorNative {

    /** System property: the path of a library to load instead of the class-path resource. */
    public static final String LIBRARY_PROPERTY = "twobp.cuda.emulator.library";

    private static final String LIBRARY = "libtwobp-cudaemu.so";

    private static final Object LOCK = new Object();
    private static volatile boolean loaded;
    private static String unavailable;

    private EmulatorNative() {
    }

    /** Whether the library loads; never throws. */
    public static boolean available() {
        return unavailableReason() == null;
    }

    /** Why the library does not load, or null when it does. */
    public static String unavailableReason() {
        synchronized (LOCK) {
            if (!loaded && unavailable == null) {
                unavailable = load();
                loaded = unavailable == null;
            }
            return unavailable;
        }
    }

    private static void ensureLoaded() {
        if (!loaded) {
            String reason = unavailableReason();
            if (reason != null) {
                throw new IllegalStateException("the CUDA emulator is unavailable: " + reason);
            }
        }
    }

    private static String load() {
        String override = System.getProperty(LIBRARY_PROPERTY);
        try {
            if (override != null && !override.isBlank()) {
                Path p = Paths.get(override);
                if (!Files.isRegularFile(p)) {
                    return LIBRARY_PROPERTY + " names " + p + ", which is not a file";
                }
                System.load(p.toAbsolutePath().toString());
                return null;
            }
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = switch (System.getProperty("os.arch", "")) {
                case "amd64", "x86_64" -> "x86_64";
                case "aarch64", "arm64" -> "aarch64";
                default -> System.getProperty("os.arch");
            };
            if (!os.contains("linux")) {
                return "the CUDA emulator is built for Linux only (this is " + System.getProperty("os.name") + ")";
            }
            String dir = "/native/linux-" + arch + "/";
            URL url = EmulatorNative.class.getResource(dir + LIBRARY);
            if (url == null) {
                return "the class-path resource " + dir + LIBRARY + " is missing: " + missingReason(dir);
            }
            if ("file".equals(url.getProtocol())) {
                System.load(Paths.get(url.toURI()).toString());
                return null;
            }
            Path tmp = Files.createTempFile("twobp-cudaemu", ".so");
            tmp.toFile().deleteOnExit();
            try (InputStream in = url.openStream()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            System.load(tmp.toString());
            return null;
        } catch (IOException | URISyntaxException | UnsatisfiedLinkError | SecurityException e) {
            return "loading " + LIBRARY + " failed: " + e;
        }
    }

    /** The note the build leaves when it could not compile the library, or a hint where to look. */
    private static String missingReason(String dir) {
        try (InputStream in = EmulatorNative.class.getResourceAsStream(dir + "libtwobp-cudaemu.UNAVAILABLE")) {
            if (in != null) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            }
        } catch (IOException ignored) {
            // fall through to the generic hint
        }
        return "it is built by src/main/cuda/emulator/build.sh at Maven's generate-resources phase (run"
                + " 'mvn generate-resources' in the worker module; it needs g++)";
    }

    // ---- memory ------------------------------------------------------------------------------

    /** A device allocation of {@code bytes} (256-byte aligned, filled with {@code 0xFF}). */
    public static long malloc(long bytes) {
        ensureLoaded();
        if (bytes < 0) {
            throw new IllegalArgumentException("cannot allocate " + bytes + " bytes");
        }
        return nMalloc(bytes);
    }

    /** Frees an allocation (0 is ignored); fails if its red zones were overwritten since the last check. */
    public static void free(long ptr) {
        ensureLoaded();
        nFree(ptr);
    }

    /** Bytes in live allocations. */
    public static long allocatedBytes() {
        ensureLoaded();
        return nAllocatedBytes();
    }

    /** Makes allocations beyond {@code bytes} in all fail as a full device would; 0: no limit. */
    public static void setMemoryLimit(long bytes) {
        ensureLoaded();
        if (bytes < 0) {
            throw new IllegalArgumentException("negative memory limit " + bytes);
        }
        nSetMemoryLimit(bytes);
    }

    // ---- copies ------------------------------------------------------------------------------

    public static void copyFromFloats(long dst, float[] src, int off, int n) {
        ensureLoaded();
        Objects.checkFromIndexSize(off, n, src.length);
        nCopyFromFloats(dst, src, off, n);
    }

    public static void copyToFloats(long src, float[] dst, int off, int n) {
        ensureLoaded();
        Objects.checkFromIndexSize(off, n, dst.length);
        nCopyToFloats(src, dst, off, n);
    }

    public static void copyFromInts(long dst, int[] src, int off, int n) {
        ensureLoaded();
        Objects.checkFromIndexSize(off, n, src.length);
        nCopyFromInts(dst, src, off, n);
    }

    public static void copyToInts(long src, int[] dst, int off, int n) {
        ensureLoaded();
        Objects.checkFromIndexSize(off, n, dst.length);
        nCopyToInts(src, dst, off, n);
    }

    /** Bytes [0, bytes) of a direct buffer (its position is ignored) to the device. */
    public static void copyFromBuffer(long dst, ByteBuffer direct, long bytes) {
        ensureLoaded();
        checkBuffer(direct, bytes);
        nCopyFromBuffer(dst, direct, bytes);
    }

    /** Device bytes into [0, bytes) of a direct buffer (its position is ignored). */
    public static void copyToBuffer(ByteBuffer direct, long src, long bytes) {
        ensureLoaded();
        checkBuffer(direct, bytes);
        if (direct.isReadOnly()) {
            throw new IllegalArgumentException("cannot copy into a read-only buffer");
        }
        nCopyToBuffer(direct, src, bytes);
    }

    private static void checkBuffer(ByteBuffer buffer, long bytes) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("device copies need a direct buffer");
        }
        if (bytes < 0 || bytes > buffer.capacity()) {
            throw new IllegalArgumentException(bytes + " bytes do not fit a buffer of capacity " + buffer.capacity());
        }
    }

    /** Device to device; the ranges may overlap. */
    public static void copy(long dst, long src, long bytes) {
        ensureLoaded();
        if (bytes < 0) {
            throw new IllegalArgumentException("cannot copy " + bytes + " bytes");
        }
        nCopy(dst, src, bytes);
    }

    /** Sets {@code count} 32-bit words at {@code dst} to {@code bits}. */
    public static void memset32(long dst, int bits, long count) {
        ensureLoaded();
        if (count < 0) {
            throw new IllegalArgumentException("cannot set " + count + " words");
        }
        nMemset32(dst, bits, count);
    }

    // ---- kernels -----------------------------------------------------------------------------

    /** The names of the registered kernels, sorted. */
    public static String[] kernels() {
        ensureLoaded();
        return nKernels();
    }

    /**
     * The parameter types of a kernel, one letter each: {@code P} pointer, {@code I} int,
     * {@code U} unsigned, {@code F} float; null when there is no such kernel.
     */
    public static String signature(String kernel) {
        ensureLoaded();
        return nSignature(Objects.requireNonNull(kernel, "kernel"));
    }

    /**
     * Runs a kernel to completion on the calling thread. {@code packedArgs} is
     * {@link KernelArgs#packed()}; its length must match the kernel's parameters, and non-null
     * pointers must point into live allocations.
     */
    public static void launch(String kernel, int gx, int gy, int gz, int bx, int by, int bz, byte[] packedArgs) {
        ensureLoaded();
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(packedArgs, "packedArgs");
        if (gx < 1 || gy < 1 || gz < 1 || bx < 1 || by < 1 || bz < 1) {
            throw new IllegalArgumentException("launch of '" + kernel + "' with grid (" + gx + "," + gy + "," + gz
                    + "), block (" + bx + "," + by + "," + bz + "): every dimension must be at least 1");
        }
        nLaunch(kernel, gx, gy, gz, bx, by, bz, packedArgs);
    }

    /**
     * As {@link #launch(String, int, int, int, int, int, int, byte[])}, after checking the
     * argument types against the kernel's parameters (an int where a float is expected packs to
     * the same size, so the byte count alone cannot tell).
     */
    public static void launch(String kernel, int gx, int gy, int gz, int bx, int by, int bz, KernelArgs args) {
        String want = signature(kernel);
        if (want != null) {
            StringBuilder got = new StringBuilder();
            for (int i = 0; i < args.count(); i++) {
                got.append(switch (args.type(i)) {
                    case POINTER -> 'P';
                    case INT -> 'I';
                    case FLOAT -> 'F';
                });
            }
            if (!got.toString().equals(want.replace('U', 'I'))) {
                throw new IllegalArgumentException("kernel '" + kernel + "' takes (" + want + ") but was passed ("
                        + got + "); P pointer, I int, U unsigned (passed as int), F float");
            }
        }
        launch(kernel, gx, gy, gz, bx, by, bz, args.packed());
    }

    /** Launches so far (failed ones included). */
    public static long launches() {
        ensureLoaded();
        return nLaunches();
    }

    private static native long nMalloc(long bytes);

    private static native void nFree(long ptr);

    private static native long nAllocatedBytes();

    private static native void nSetMemoryLimit(long bytes);

    private static native void nCopyFromFloats(long dst, float[] src, int off, int n);

    private static native void nCopyToFloats(long src, float[] dst, int off, int n);

    private static native void nCopyFromInts(long dst, int[] src, int off, int n);

    private static native void nCopyToInts(long src, int[] dst, int off, int n);

    private static native void nCopyFromBuffer(long dst, ByteBuffer direct, long bytes);

    private static native void nCopyToBuffer(ByteBuffer direct, long src, long bytes);

    private static native void nCopy(long dst, long src, long bytes);

    private static native void nMemset32(long dst, int bits, long count);

    private static native String[] nKernels();

    private static native String nSignature(String kernel);

    private static native void nLaunch(String kernel, int gx, int gy, int gz, int bx, int by, int bz,
                                       byte[] packedArgs);

    private static native long nLaunches();
}
