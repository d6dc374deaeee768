package org.twobp.worker.backend.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDeviceGetPCIBusId;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuGetErrorName;
import static jcuda.driver.JCudaDriver.cuGetErrorString;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * A real GPU through JCuda's bindings of the CUDA driver API, which need nothing but the
 * driver's {@code libcuda.so.1} (no toolkit on the GPU nodes). One primary context per rank, a
 * compute stream for kernels, cuBLAS, device copies and memsets, and a copy stream for
 * asynchronous transfers from and to pinned host buffers, both non-blocking so that they overlap
 * with each other and never wait for the legacy default stream.
 *
 * <p>Kernels come from PTX on the class path ({@code org/twobp/worker/backend/cuda/ptx/}), one
 * module per kernel family, each in the newest compute-capability target that the device runs;
 * the driver compiles it for the device when it is loaded.
 *
 * <p>Return codes are checked here rather than through JCuda's exceptions, so that every error
 * names the call and its arguments and out-of-memory is recognised by its code. The context is
 * made current on whichever thread calls (once per thread), so the device may be driven from more
 * than one thread, though each stream keeps the order in which calls reach it.
 *
 * <p>Loading this class loads no native library; {@link #open} does, and is only called when the
 * CUDA backend is chosen.
 */
public final class JcudaDevice implements Device {

    /** Class-path folder of the kernels' PTX. */
    static final String PTX_DIR = "org/twobp/worker/backend/cuda/ptx/";

    /** Optional list of the PTX files in {@link #PTX_DIR}, one name per line. */
    static final String PTX_INDEX = "INDEX";

    /** Written by the build instead of PTX when nvcc was missing; holds the reason. */
    static final String PTX_UNAVAILABLE = "UNAVAILABLE";

    /** System property that forces the backend's own GEMM kernel ({@code -Dtwobp.cuda.blas=off}). */
    public static final String BLAS_PROPERTY = "twobp.cuda.blas";

    private static final String CPU_HINT = " — run on a GPU node or choose --set train.backend=cpu";

    /** For failures on a GPU node: the fix is a rebuild or a setting, the CPU backend an alternative. */
    private static final String CPU_ALTERNATIVE = "; or choose --set train.backend=cpu";

    /** CUDA_ERROR_INSUFFICIENT_DRIVER, which JCuda's CUresult does not name. */
    private static final int INSUFFICIENT_DRIVER = 35;

    /** Dynamic shared memory a kernel may use without opting in. */
    private static final int DEFAULT_SHARED_LIMIT = 48 * 1024;

    private static final Pattern PTX_FILE = Pattern.compile("([A-Za-z0-9_.+-]+)\\.sm(\\d+)\\.ptx");
    private static final Pattern PTX_VERSION = Pattern.compile("(?m)^\\s*\\.version\\s+(\\d+\\.\\d+)");

    /** The first failure to load the driver: later attempts only see NoClassDefFoundError. */
    private static volatile String driverLoadFailure;

    /** The device whose context was last made current on each thread. */
    private static final ThreadLocal<JcudaDevice> CURRENT = new ThreadLocal<>();

    private int ordinal;
    private int deviceCount;
    private CUdevice device;
    private CUcontext context;
    private CUstream compute;
    private CUstream copy;
    /** Marks on the compute and copy streams that the other stream waits for (timing disabled). */
    private CUevent computeMark;
    private CUevent copyMark;
    private String name;
    private int computeCapability;
    private long totalMemory;
    private int driverVersion;
    private String pciBusId;
    private String ptxTarget = "no kernels loaded";
    private final List<CUmodule> modules = new ArrayList<>();
    private final List<String> relabelled = new ArrayList<>();
    private final Map<String, CUfunction> functions = new ConcurrentHashMap<>();
    private final Map<String, Integer> sharedOptIn = new ConcurrentHashMap<>();
    private final Map<Long, CUdeviceptr> allocations = new ConcurrentHashMap<>();
    private final Map<ByteBuffer, Pointer> pinned = Collections.synchronizedMap(new IdentityHashMap<>());
    private final Map<Long, CUevent> events = new ConcurrentHashMap<>();
    private final AtomicLong nextEvent = new AtomicLong(1);
    private CublasGemm blas;
    private String blasReason;
    private volatile String lastKernel;
    private volatile boolean closed;

    private JcudaDevice() {
    }

    /**
     * Opens the GPU of local rank {@code localRank} of {@code localSize} ranks on this node (see
     * {@link LocalGpu#choose}), loads the kernels and, unless {@code -Dtwobp.cuda.blas=off}, cuBLAS.
     *
     * @throws IllegalStateException when there is no usable GPU, driver or PTX; the message says
     *                               what was tried and how to fix it
     */
    public static JcudaDevice open(int localRank, int localSize) {
        return open(localRank, localSize, true);
    }

    /**
     * As {@link #open(int, int)}; without {@code loadKernels} no PTX is needed (and
     * {@link #launch} finds no kernel), for tests of memory and copies.
     */
    static JcudaDevice open(int localRank, int localSize, boolean loadKernels) {
        LocalGpu.Visible visible = LocalGpu.visibleFromEnvironment();
        if (visible.hidesAll()) {
            throw new IllegalStateException("no GPU is visible to this process: " + LocalGpu.VISIBLE_DEVICES + "='"
                    + visible.raw() + "' hides every device (the launcher gave this rank no GPU: request GPUs, e.g."
                    + " Slurm --gpus-per-task=1)" + CPU_HINT);
        }
        loadDriver();
        int r = cuInit(0);
        if (r != CUresult.CUDA_SUCCESS) {
            throw new IllegalStateException(initFailure(r, visible));
        }
        JcudaDevice d = new JcudaDevice();
        try {
            d.start(localRank, localSize, visible, loadKernels);
            return d;
        } catch (RuntimeException | Error e) {
            try {
                d.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static void loadDriver() {
        String failed = driverLoadFailure;
        if (failed != null) {
            throw new IllegalStateException(failed);
        }
        try {
            JCudaDriver.setExceptionsEnabled(false);
        } catch (Throwable t) {
            failed = "the CUDA driver (libcuda.so.1) could not be loaded: " + nativeLoadReason(t) + CPU_HINT;
            driverLoadFailure = failed;
            throw new IllegalStateException(failed, t);
        }
    }

    private static String initFailure(int r, LocalGpu.Visible visible) {
        String env = visible.set() ? " (" + LocalGpu.VISIBLE_DEVICES + "='" + visible.raw() + "')" : "";
        return switch (r) {
            case CUresult.CUDA_ERROR_NO_DEVICE -> "the CUDA driver loaded but reports no GPU" + env
                    + ": check nvidia-smi on this node and the launcher's GPU request" + CPU_HINT;
            case CUresult.CUDA_ERROR_STUB_LIBRARY -> "the libcuda.so.1 that was loaded is the CUDA toolkit's stub"
                    + " (from a lib64/stubs folder), not the driver: remove that folder from LD_LIBRARY_PATH"
                    + CPU_HINT;
            case INSUFFICIENT_DRIVER, CUresult.CUDA_ERROR_SYSTEM_DRIVER_MISMATCH,
                 CUresult.CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE -> "cuInit failed: " + error(r)
                    + ": the user-space driver (libcuda.so.1) does not match the kernel module or the GPU; use the"
                    + " libcuda.so.1 installed with the node's driver (LD_LIBRARY_PATH may point at another)"
                    + CPU_HINT;
            default -> "cuInit failed: " + error(r) + env + CPU_HINT;
        };
    }

    private void start(int localRank, int localSize, LocalGpu.Visible visible, boolean loadKernels) {
        int[] count = new int[1];
        check(cuDeviceGetCount(count), "cuDeviceGetCount");
        deviceCount = count[0];
        if (deviceCount < 1) {
            throw new IllegalStateException(initFailure(CUresult.CUDA_ERROR_NO_DEVICE, visible));
        }
        LocalGpu.Choice choice = LocalGpu.choose(localRank, localSize, deviceCount, visible.set());
        if (choice.warning() != null) {
            System.err.println("[twobp] " + choice.warning());
        }
        ordinal = choice.ordinal();
        CUdevice dev = new CUdevice();
        check(cuDeviceGet(dev, ordinal), "cuDeviceGet(" + ordinal + ")");
        CUcontext ctx = new CUcontext();
        int r = cuDevicePrimaryCtxRetain(ctx, dev);
        if (r == CUresult.CUDA_ERROR_DEVICE_UNAVAILABLE) {
            throw new IllegalStateException("GPU " + ordinal + " is busy: " + error(r) + "; in exclusive-process compute"
                    + " mode (nvidia-smi -q -d COMPUTE) only one process may use it, so give every rank its own GPU"
                    + CPU_ALTERNATIVE);
        }
        check(r, "cuDevicePrimaryCtxRetain(device " + ordinal + ")");
        device = dev;
        context = ctx;
        bind();

        int[] v = new int[1];
        check(cuDeviceGetAttribute(v, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev),
                "cuDeviceGetAttribute");
        int major = v[0];
        check(cuDeviceGetAttribute(v, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev),
                "cuDeviceGetAttribute");
        computeCapability = major * 10 + v[0];
        byte[] nameBytes = new byte[256];
        check(cuDeviceGetName(nameBytes, nameBytes.length, dev), "cuDeviceGetName");
        name = cString(nameBytes) + " (sm_" + computeCapability + ")";
        long[] total = new long[1];
        check(cuDeviceTotalMem(total, dev), "cuDeviceTotalMem");
        totalMemory = total[0];
        check(cuDriverGetVersion(v), "cuDriverGetVersion");
        driverVersion = v[0];
        String[] bus = new String[1];
        pciBusId = cuDeviceGetPCIBusId(bus, 32, dev) == CUresult.CUDA_SUCCESS && bus[0] != null ? bus[0].trim() : "?";

        CUstream s = new CUstream();
        check(cuStreamCreate(s, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        compute = s;
        s = new CUstream();
        check(cuStreamCreate(s, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        copy = s;
        CUevent e = new CUevent();
        check(cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        computeMark = e;
        e = new CUevent();
        check(cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        copyMark = e;

        if (loadKernels) {
            loadKernels();
        }
        try {
            blas = CublasGemm.tryLoad(compute, this::bind);
        } catch (IllegalStateException ex) {
            blasReason = ex.getMessage();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // kernels

    private void loadKernels() {
        ClassLoader loader = JcudaDevice.class.getClassLoader();
        String unavailable = readText(loader, PTX_DIR + PTX_UNAVAILABLE);
        if (unavailable != null) {
            throw new IllegalStateException("the CUDA kernels were not built: " + unavailable.strip()
                    + CPU_ALTERNATIVE);
        }
        List<String> files;
        try {
            files = ptxFiles(loader);
        } catch (IOException ex) {
            throw new IllegalStateException("the PTX of the CUDA kernels could not be listed: " + ex
                    + CPU_ALTERNATIVE, ex);
        }
        Map<String, TreeSet<Integer>> families = new TreeMap<>();
        for (String f : files) {
            Matcher m = PTX_FILE.matcher(f);
            if (m.matches()) {
                families.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(Integer.parseInt(m.group(2)));
            }
        }
        if (families.isEmpty()) {
            throw new IllegalStateException("no PTX of the CUDA kernels on the class path (" + PTX_DIR
                    + "<family>.sm<NN>.ptx): the worker was built without them; build it where nvcc is installed"
                    + CPU_ALTERNATIVE);
        }
        Map<String, Integer> chosen = new LinkedHashMap<>();
        for (Map.Entry<String, TreeSet<Integer>> f : families.entrySet()) {
            Integer target = f.getValue().floor(computeCapability);
            if (target == null) {
                String built = String.join(" ", f.getValue().stream().map(String::valueOf).toList());
                throw new IllegalStateException("the PTX of kernel family '" + f.getKey() + "' targets sm_"
                        + f.getValue().first() + " and newer, but " + name + " is older: build the kernels for it"
                        + " (CUDA_ARCHS=\"" + computeCapability + " " + built + "\", with an nvcc that still targets"
                        + " it)" + CPU_ALTERNATIVE);
            }
            chosen.put(f.getKey(), target);
        }
        TreeSet<String> isas = new TreeSet<>();
        for (Map.Entry<String, Integer> f : chosen.entrySet()) {
            String file = f.getKey() + ".sm" + f.getValue() + ".ptx";
            byte[] text = readBytes(loader, PTX_DIR + file);
            if (text == null) {
                throw new IllegalStateException("PTX resource " + PTX_DIR + file + " is listed but cannot be read");
            }
            String isa = ptxVersion(text);
            isas.add(isa);
            byte[] image = new byte[text.length + 1]; // the driver reads PTX as a NUL-terminated string
            System.arraycopy(text, 0, image, 0, text.length);
            CUmodule module = new CUmodule();
            int r = cuModuleLoadData(module, image);
            String older = maxPtxIsa(driverVersion);
            if (r == CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION && older != null && isaBelow(older, isa)) {
                // An nvcc newer than the driver labels its PTX with an ISA the driver does not know,
                // though these kernels use nothing newer (the test suite assembles every file at ISA 8.0):
                // relabel to what the driver reads, and say so.
                int again = cuModuleLoadData(module, relabel(image, older));
                if (again == CUresult.CUDA_SUCCESS) {
                    relabelled.add(isa + "->" + older);
                    r = again;
                }
            }
            if (r != CUresult.CUDA_SUCCESS) {
                throw new IllegalStateException(ptxFailure(r, file, isa));
            }
            modules.add(module);
        }
        ptxTarget = "PTX " + String.join(",", new TreeSet<>(chosen.values()).stream().map(n -> "sm_" + n).toList())
                + " (ISA " + String.join(",", isas) + ", " + modules.size() + " modules"
                + (relabelled.isEmpty() ? "" : "; relabelled " + String.join(",", new TreeSet<>(relabelled))
                + " for the CUDA " + cudaVersion(driverVersion) + " driver") + ")";
        if (!relabelled.isEmpty()) {
            System.err.println("[twobp] the kernels' PTX was written by a newer nvcc than this driver (CUDA "
                    + cudaVersion(driverVersion) + ") reads; loaded it relabelled as ISA " + maxPtxIsa(driverVersion)
                    + ". Building with an nvcc no newer than the driver avoids this.");
        }
    }

    private String ptxFailure(int r, String file, String isa) {
        String what = "the driver could not load the PTX " + file + " (PTX ISA " + isa + ") for " + name + ": "
                + error(r);
        return switch (r) {
            case CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION, CUresult.CUDA_ERROR_INVALID_PTX,
                 CUresult.CUDA_ERROR_INVALID_IMAGE, CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU -> what
                    + ". This driver supports CUDA " + cudaVersion(driverVersion) + " and compiles only PTX written by"
                    + " an nvcc of that version or older (nvcc 13 writes PTX ISA 9.x, nvcc 12.x ISA 8.x): rebuild the"
                    + " worker with an nvcc no newer than CUDA " + cudaVersion(driverVersion) + " (NVCC=<path to"
                    + " nvcc>), or update the GPU driver" + CPU_ALTERNATIVE;
            case CUresult.CUDA_ERROR_JIT_COMPILER_NOT_FOUND -> what + ": the driver's PTX compiler"
                    + " (libnvidia-ptxjitcompiler.so.1) is missing from this node; install the full driver"
                    + CPU_ALTERNATIVE;
            default -> what + CPU_ALTERNATIVE;
        };
    }

    /**
     * The newest PTX ISA a driver of CUDA version {@code driverVersion} (e.g. 12040) reads, as
     * NVIDIA's PTX documentation lists it; null for drivers older than CUDA 11.
     */
    static String maxPtxIsa(int driverVersion) {
        int major = driverVersion / 1000;
        int minor = driverVersion % 1000 / 10;
        if (major == 11) {
            return "7." + Math.min(minor, 8);
        }
        if (major == 12) {
            int[] isa = {0, 1, 2, 3, 4, 5, 5, 5, 7, 8};   // 12.0 .. 12.9 (12.6 and 12.7 stayed at 8.5)
            return "8." + isa[Math.min(minor, isa.length - 1)];
        }
        if (major >= 13) {
            return major - 4 + "." + minor;               // 13.0 -> 9.0, 13.1 -> 9.1
        }
        return null;
    }

    static boolean isaBelow(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        try {
            int c = Integer.compare(Integer.parseInt(x[0]), Integer.parseInt(y[0]));
            return c < 0 || (c == 0 && Integer.parseInt(x[1]) < Integer.parseInt(y[1]));
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The PTX text with its {@code .version} line set to {@code isa} (NUL-terminated like the input). */
    static byte[] relabel(byte[] ptx, String isa) {
        String text = new String(ptx, StandardCharsets.US_ASCII);
        return PTX_VERSION.matcher(text).replaceFirst(".version " + isa).getBytes(StandardCharsets.US_ASCII);
    }

    /** The {@code .version} of a PTX text, or "?" when it has none. */
    static String ptxVersion(byte[] ptx) {
        String head = new String(ptx, 0, Math.min(ptx.length, 4096), StandardCharsets.US_ASCII);
        Matcher m = PTX_VERSION.matcher(head);
        return m.find() ? m.group(1) : "?";
    }

    /** 12040 → "12.4". */
    static String cudaVersion(int v) {
        return (v / 1000) + "." + (v % 1000 / 10);
    }

    /**
     * The PTX file names in {@link #PTX_DIR}: from {@link #PTX_INDEX} when the build wrote one,
     * else by listing the folder in every class-path entry (a directory or a jar) that has it.
     */
    static List<String> ptxFiles(ClassLoader loader) throws IOException {
        String index = readText(loader, PTX_DIR + PTX_INDEX);
        TreeSet<String> names = new TreeSet<>();
        if (index != null) {
            for (String line : index.split("\\R")) {
                String n = line.strip();
                if (!n.isEmpty() && !n.startsWith("#")) {
                    names.add(n.substring(n.lastIndexOf('/') + 1));
                }
            }
            return new ArrayList<>(names);
        }
        List<URL> roots = Collections.list(loader.getResources(PTX_DIR));
        if (roots.isEmpty()) {
            // jars built without directory entries have no resource for the folder itself: list our own jar
            URL self = JcudaDevice.class.getProtectionDomain().getCodeSource() != null
                    ? JcudaDevice.class.getProtectionDomain().getCodeSource().getLocation() : null;
            if (self != null && self.getPath().endsWith(".jar")) {
                try (JarFile jar = new JarFile(Path.of(self.toURI()).toFile())) {
                    addJarEntries(jar, names);
                } catch (URISyntaxException e) {
                    throw new IOException("bad class-path URL " + self, e);
                }
            }
        }
        for (URL root : roots) {
            switch (root.getProtocol()) {
                case "file" -> {
                    Path dir;
                    try {
                        dir = Path.of(root.toURI());
                    } catch (URISyntaxException e) {
                        throw new IOException("bad class-path URL " + root, e);
                    }
                    try (Stream<Path> list = Files.list(dir)) {
                        list.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".ptx")).forEach(names::add);
                    }
                }
                case "jar" -> {
                    JarURLConnection c = (JarURLConnection) root.openConnection();
                    c.setUseCaches(false);
                    try (JarFile jar = c.getJarFile()) {
                        addJarEntries(jar, names);
                    }
                }
                default -> {
                    // another kind of class loader: only an INDEX can list its files
                }
            }
        }
        return new ArrayList<>(names);
    }

    private static void addJarEntries(JarFile jar, TreeSet<String> names) {
        Enumeration<JarEntry> entries = jar.entries();
        while (entries.hasMoreElements()) {
            String n = entries.nextElement().getName();
            if (n.startsWith(PTX_DIR) && n.endsWith(".ptx") && n.indexOf('/', PTX_DIR.length()) < 0) {
                names.add(n.substring(PTX_DIR.length()));
            }
        }
    }

    private static byte[] readBytes(ClassLoader loader, String resource) {
        try (InputStream in = loader.getResourceAsStream(resource)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read resource " + resource + ": " + e, e);
        }
    }

    private static String readText(ClassLoader loader, String resource) {
        byte[] b = readBytes(loader, resource);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private CUfunction function(String kernel) {
        CUfunction f = functions.get(kernel);
        if (f != null) {
            return f;
        }
        for (CUmodule m : modules) {
            CUfunction candidate = new CUfunction();
            int r = cuModuleGetFunction(candidate, m, kernel);
            if (r == CUresult.CUDA_SUCCESS) {
                functions.put(kernel, candidate);
                return candidate;
            }
            if (r != CUresult.CUDA_ERROR_NOT_FOUND) {
                check(r, "cuModuleGetFunction(" + kernel + ")");
            }
        }
        throw new IllegalArgumentException("no kernel named '" + kernel + "' in the " + modules.size()
                + " loaded PTX modules (is it declared TWOBP_KERNEL, i.e. extern \"C\"?)");
    }

    @Override
    public void launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                       int sharedBytes, KernelArgs args) {
        bind();
        CUfunction f = function(kernel);
        if (sharedBytes > DEFAULT_SHARED_LIMIT && sharedOptIn.getOrDefault(kernel, 0) < sharedBytes) {
            check(cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    sharedBytes), "cuFuncSetAttribute(" + kernel + ", max dynamic shared memory " + sharedBytes + ")");
            sharedOptIn.put(kernel, sharedBytes);
        }
        // cuLaunchKernel takes an array of pointers, one per parameter, each to the parameter's value.
        // JCuda cannot make a CUdeviceptr hold an arbitrary address, but a pointer parameter is just
        // its 8-byte value, so a pointer to a long holding the address passes it exactly.
        NativePointerObject[] params = new NativePointerObject[args.count()];
        for (int i = 0; i < params.length; i++) {
            params[i] = switch (args.type(i)) {
                case POINTER -> Pointer.to(new long[] {args.pointer(i)});
                case INT -> Pointer.to(new int[] {args.intValue(i)});
                case FLOAT -> Pointer.to(new float[] {args.floatValue(i)});
            };
        }
        int r = cuLaunchKernel(f, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, compute,
                Pointer.to(params), null);
        if (r != CUresult.CUDA_SUCCESS) {
            throw new IllegalStateException("launching kernel " + kernel + " on grid (" + gridX + "," + gridY + ","
                    + gridZ + ") x block (" + blockX + "," + blockY + "," + blockZ + ") with " + sharedBytes
                    + " bytes of shared memory and " + args.count() + " arguments failed: " + error(r));
        }
        lastKernel = kernel;
    }

    // ---------------------------------------------------------------------------------------------
    // memory

    /** A CUdeviceptr that can tell the address the driver wrote into it. */
    private static final class Allocation extends CUdeviceptr {
        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    /** A CUdeviceptr for an address: JCuda passes native pointer plus byte offset, here 0 + address. */
    static CUdeviceptr at(long address) {
        return new CUdeviceptr().withByteOffset(address);
    }

    @Override
    public long malloc(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation " + bytes);
        }
        bind();
        Allocation p = new Allocation();
        int r = cuMemAlloc(p, Math.max(bytes, 1));
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            long[] free = new long[1];
            long[] total = new long[1];
            String state = cuMemGetInfo(free, total) == CUresult.CUDA_SUCCESS
                    ? mib(free[0]) + " free of " + mib(total[0]) : "free memory unknown";
            throw new DeviceOutOfMemoryException("out of GPU memory on " + name + " (device " + ordinal + "): "
                    + mib(bytes) + " (" + bytes + " bytes) requested, " + state + "; other processes on this GPU"
                    + " (nvidia-smi) also count. Reduce the micro-batch size or the model, or use more stages.");
        }
        check(r, "cuMemAlloc(" + bytes + " bytes)");
        long address = p.address();
        allocations.put(address, p);
        return address;
    }

    /** Frees device memory; the driver waits for work that may still use it. */
    @Override
    public void free(long ptr) {
        CUdeviceptr p = allocations.remove(ptr);
        if (p == null) {
            throw new IllegalArgumentException("0x" + Long.toHexString(ptr) + " is not an allocation of this device"
                    + " (freed twice, or offset from the address malloc returned)");
        }
        bind();
        check(cuMemFree(p), "cuMemFree(0x" + Long.toHexString(ptr) + ")");
    }

    @Override
    public long totalMemory() {
        return totalMemory;
    }

    @Override
    public long freeMemory() {
        bind();
        long[] free = new long[1];
        long[] total = new long[1];
        check(cuMemGetInfo(free, total), "cuMemGetInfo");
        return free[0];
    }

    /** Pinned with {@code cuMemHostAlloc}; {@link #freePinned} must get this very buffer object back. */
    @Override
    public ByteBuffer allocatePinned(int bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation " + bytes);
        }
        bind();
        Pointer host = new Pointer();
        int r = cuMemHostAlloc(host, Math.max(bytes, 1), 0);
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            throw new DeviceOutOfMemoryException("cannot pin " + mib(bytes) + " of host memory (" + error(r) + "):"
                    + " the node's RAM or its locked-memory limit (ulimit -l) is exhausted");
        }
        check(r, "cuMemHostAlloc(" + bytes + " bytes)");
        ByteBuffer buffer = host.getByteBuffer(0, bytes);
        if (buffer == null) {
            cuMemFreeHost(host);
            throw new IllegalStateException("JCuda returned no buffer for pinned memory of " + bytes + " bytes");
        }
        buffer.order(ByteOrder.nativeOrder());
        pinned.put(buffer, host);
        return buffer;
    }

    /** Waits for the copy stream first, which may still be reading or writing the buffer. */
    @Override
    public void freePinned(ByteBuffer buffer) {
        Pointer host = pinned.remove(buffer);
        if (host == null) {
            throw new IllegalArgumentException("not a pinned buffer of this device (freed twice, or a duplicate or"
                    + " slice of the buffer allocatePinned returned)");
        }
        bind();
        sync(copy, "the copy stream");
        check(cuMemFreeHost(host), "cuMemFreeHost");
    }

    // ---------------------------------------------------------------------------------------------
    // copies

    /**
     * Synchronous copies from Java arrays. Kernels queued on the compute stream may still read
     * {@code dst}, and the legacy stream a synchronous copy runs on is not ordered with our
     * non-blocking streams, so the compute stream is drained first; and since the driver may
     * return before the DMA from its staging buffer ends, the copy is waited for after. The host
     * thus waits for all queued kernels: arrays are for setup and small transfers, pinned buffers
     * with {@link #copyHostToDeviceAsync} for the steady state.
     */
    @Override
    public void copyHostToDevice(long dst, float[] src, int srcOffset, int count) {
        java.util.Objects.checkFromIndexSize(srcOffset, count, src.length);
        copyIn(dst, Pointer.to(src), srcOffset, count, "floats");
    }

    @Override
    public void copyHostToDevice(long dst, int[] src, int srcOffset, int count) {
        java.util.Objects.checkFromIndexSize(srcOffset, count, src.length);
        copyIn(dst, Pointer.to(src), srcOffset, count, "ints");
    }

    /** {@code count} 4-byte elements from element {@code offset} of a Java array, as described above. */
    private void copyIn(long dst, Pointer array, int offset, int count, String what) {
        if (count == 0) {
            return;
        }
        bind();
        sync(compute, "the compute stream");
        check(cuMemcpyHtoD(at(dst), array.withByteOffset(4L * offset), 4L * count),
                "cuMemcpyHtoD(" + count + " " + what + ")");
        sync(new CUstream(), "the default stream");
    }

    /** Waits for the compute stream, then copies (a copy to pageable memory returns when complete). */
    @Override
    public void copyDeviceToHost(float[] dst, int dstOffset, long src, int count) {
        java.util.Objects.checkFromIndexSize(dstOffset, count, dst.length);
        if (count == 0) {
            return;
        }
        bind();
        sync(compute, "the compute stream");
        check(cuMemcpyDtoH(Pointer.to(dst).withByteOffset(4L * dstOffset), at(src), 4L * count),
                "cuMemcpyDtoH(" + count + " floats)");
    }

    /**
     * Not ordered after the compute stream: the caller makes sure no queued kernel still reads
     * {@code dst} (e.g. by prefetching into a buffer the current step does not use).
     */
    @Override
    public void copyHostToDeviceAsync(long dst, ByteBuffer src, long bytes) {
        checkDirect(src, bytes);
        if (bytes == 0) {
            return;
        }
        bind();
        // Pointer.to(buffer) is the buffer's start, whatever its position
        check(cuMemcpyHtoDAsync(at(dst), Pointer.to(src), bytes, copy), "cuMemcpyHtoDAsync(" + bytes + " bytes)");
    }

    @Override
    public void copyDeviceToHostAsync(ByteBuffer dst, long src, long bytes) {
        checkDirect(dst, bytes);
        if (bytes == 0) {
            return;
        }
        bind();
        synchronized (computeMark) {
            check(cuEventRecord(computeMark, compute), "cuEventRecord(compute stream)");
            check(cuStreamWaitEvent(copy, computeMark, 0), "cuStreamWaitEvent(copy stream)");
        }
        check(cuMemcpyDtoHAsync(Pointer.to(dst), at(src), bytes, copy), "cuMemcpyDtoHAsync(" + bytes + " bytes)");
    }

    @Override
    public void synchronizeCopies() {
        bind();
        synchronized (copyMark) {
            check(cuEventRecord(copyMark, copy), "cuEventRecord(copy stream)");
            check(cuStreamWaitEvent(compute, copyMark, 0), "cuStreamWaitEvent(compute stream)");
        }
        sync(copy, "the copy stream");
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes) {
        if (bytes == 0) {
            return;
        }
        bind();
        check(cuMemcpyDtoDAsync(at(dst), at(src), bytes, compute), "cuMemcpyDtoDAsync(" + bytes + " bytes)");
    }

    @Override
    public void memset32(long dst, int bits, long count) {
        if (count == 0) {
            return;
        }
        bind();
        check(cuMemsetD32Async(at(dst), bits, count, compute), "cuMemsetD32Async(" + count + " words)");
    }

    private static void checkDirect(ByteBuffer b, long bytes) {
        if (!b.isDirect()) {
            throw new IllegalArgumentException("asynchronous copies need a direct (ideally pinned) buffer");
        }
        if (bytes < 0 || bytes > b.capacity()) {
            throw new IllegalArgumentException(bytes + " bytes do not fit a buffer of " + b.capacity());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // synchronisation and events

    @Override
    public void synchronize() {
        bind();
        sync(compute, "the compute stream");
        sync(copy, "the copy stream");
    }

    @Override
    public long recordEvent() {
        bind();
        CUevent e = new CUevent();
        check(cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
        int r = cuEventRecord(e, compute);
        if (r != CUresult.CUDA_SUCCESS) {
            cuEventDestroy(e);
            check(r, "cuEventRecord");
        }
        long id = nextEvent.getAndIncrement();
        events.put(id, e);
        return id;
    }

    @Override
    public float elapsedMillis(long startEvent, long endEvent) {
        CUevent start = event(startEvent);
        CUevent end = event(endEvent);
        bind();
        int r = cuEventSynchronize(end);
        if (r != CUresult.CUDA_SUCCESS) {
            throw new IllegalStateException(asyncFailure(r, "waiting for an event"));
        }
        float[] ms = new float[1];
        check(cuEventElapsedTime(ms, start, end), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void destroyEvent(long event) {
        CUevent e = events.remove(event);
        if (e == null) {
            throw new IllegalArgumentException("no event " + event + " (destroyed twice?)");
        }
        bind();
        check(cuEventDestroy(e), "cuEventDestroy");
    }

    private CUevent event(long id) {
        CUevent e = events.get(id);
        if (e == null) {
            throw new IllegalArgumentException("no event " + id + " (destroyed, or not recorded on this device)");
        }
        return e;
    }

    // ---------------------------------------------------------------------------------------------
    // description

    @Override
    public String name() {
        return name;
    }

    @Override
    public String describe() {
        long free;
        try {
            free = freeMemory();
        } catch (RuntimeException e) {
            free = -1;
        }
        return name + ", device " + ordinal + " of " + deviceCount + " visible (PCI " + pciBusId + "), "
                + gib(totalMemory) + (free >= 0 ? " (" + gib(free) + " free)" : "") + ", driver CUDA "
                + cudaVersion(driverVersion) + ", " + ptxTarget + ", GEMM: "
                + (blas != null ? blas.describe() : "own kernel (" + blasReason + ")");
    }

    @Override
    public int computeCapability() {
        return computeCapability;
    }

    /** The CUDA version the driver supports, e.g. 12040 for 12.4. */
    public int driverVersion() {
        return driverVersion;
    }

    /** The device ordinal among the visible ones. */
    public int ordinal() {
        return ordinal;
    }

    @Override
    public GemmEngine blas() {
        return blas;
    }

    /** {@link #blas()} as the class that takes the 16-bit operand converter. */
    CublasGemm cublas() {
        return blas;
    }

    @Override
    public String blasUnavailableReason() {
        return blas == null ? blasReason : null;
    }

    // ---------------------------------------------------------------------------------------------
    // lifetime

    /**
     * Waits for all work, then releases everything this device made: cuBLAS, events, device and
     * pinned memory, modules, streams and the rank's hold on the primary context. Errors are
     * collected and thrown together at the end, after everything was attempted.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        List<String> errors = new ArrayList<>();
        if (context != null) {
            try {
                bind();
            } catch (RuntimeException e) {
                errors.add(e.getMessage());
            }
        }
        for (CUstream s : new CUstream[] {compute, copy}) {
            if (s != null) {
                collect(errors, cuStreamSynchronize(s), "cuStreamSynchronize");
            }
        }
        if (blas != null) {
            try {
                blas.close();
            } catch (RuntimeException e) {
                errors.add(e.getMessage());
            }
            blas = null;
            blasReason = "device closed";
        }
        closed = true;
        for (CUevent e : events.values()) {
            collect(errors, cuEventDestroy(e), "cuEventDestroy");
        }
        events.clear();
        for (CUevent e : new CUevent[] {computeMark, copyMark}) {
            if (e != null) {
                collect(errors, cuEventDestroy(e), "cuEventDestroy");
            }
        }
        for (CUdeviceptr p : allocations.values()) {
            collect(errors, cuMemFree(p), "cuMemFree");
        }
        allocations.clear();
        synchronized (pinned) {
            for (Pointer p : pinned.values()) {
                collect(errors, cuMemFreeHost(p), "cuMemFreeHost");
            }
            pinned.clear();
        }
        for (CUmodule m : modules) {
            collect(errors, cuModuleUnload(m), "cuModuleUnload");
        }
        modules.clear();
        functions.clear();
        for (CUstream s : new CUstream[] {compute, copy}) {
            if (s != null) {
                collect(errors, cuStreamDestroy(s), "cuStreamDestroy");
            }
        }
        if (context != null) {
            collect(errors, cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease");
            if (CURRENT.get() == this) {
                cuCtxSetCurrent(new CUcontext());
                CURRENT.remove();
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalStateException("closing " + name + ": " + String.join("; ", errors));
        }
    }

    private static void collect(List<String> errors, int r, String call) {
        if (r != CUresult.CUDA_SUCCESS) {
            errors.add(call + ": " + error(r));
        }
    }

    /** Makes this device's context current on the calling thread (once per thread). */
    private void bind() {
        if (CURRENT.get() != this) {
            if (closed) {
                throw new IllegalStateException("the CUDA device " + name + " is closed");
            }
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            CURRENT.set(this);
        } else if (closed) {
            throw new IllegalStateException("the CUDA device " + name + " is closed");
        }
    }

    private void sync(CUstream stream, String what) {
        int r = cuStreamSynchronize(stream);
        if (r != CUresult.CUDA_SUCCESS) {
            throw new IllegalStateException(asyncFailure(r, "waiting for " + what));
        }
    }

    /** Errors of earlier asynchronous work surface at the next wait: name the last kernel launched. */
    private String asyncFailure(int r, String what) {
        String last = lastKernel;
        return what + " failed: " + error(r) + (last != null ? "; the last kernel launched was " + last : "")
                + ". Errors of kernels are reported at the next wait, possibly far from their launch: run with"
                + " CUDA_LAUNCH_BLOCKING=1 to see which launch fails";
    }

    private static void check(int r, String call) {
        if (r != CUresult.CUDA_SUCCESS) {
            if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                throw new DeviceOutOfMemoryException(call + " failed: " + error(r));
            }
            throw new IllegalStateException(call + " failed: " + error(r));
        }
    }

    /** "CUDA_ERROR_OUT_OF_MEMORY (out of memory)": the driver's own name and description. */
    static String error(int r) {
        String[] s = new String[1];
        String name = null;
        String text = null;
        try {
            if (cuGetErrorName(r, s) == CUresult.CUDA_SUCCESS) {
                name = s[0];
            }
            s[0] = null;
            if (cuGetErrorString(r, s) == CUresult.CUDA_SUCCESS) {
                text = s[0];
            }
        } catch (Throwable ignored) {
            // the driver is not loaded: JCuda's table below
        }
        if (name == null) {
            name = CUresult.stringFor(r);
        }
        return text != null ? name + " (" + text + ")" : name;
    }

    /**
     * What went wrong when JCuda loaded one of its native libraries, in one line. JCuda's
     * UnsatisfiedLinkError holds the stack traces of every attempt; the line that matters names
     * the library that could not be opened or the symbol that is missing. Later attempts in the same
     * process only get NoClassDefFoundError, so callers keep the first reason.
     */
    static String nativeLoadReason(Throwable t) {
        String msg = String.valueOf(t.getMessage());
        Matcher missing = Pattern.compile("([\\w.+-]+\\.so[\\w.]*): cannot open shared object file[^\\n]*")
                .matcher(msg);
        if (missing.find()) {
            return missing.group();
        }
        Matcher symbol = Pattern.compile("undefined symbol: [\\w.@]+").matcher(msg);
        if (symbol.find()) {
            return symbol.group() + " (the library found is older than the JCuda bindings need)";
        }
        Matcher version = Pattern.compile("version `[^']+' not found[^\\n]*").matcher(msg);
        if (version.find()) {
            return version.group();
        }
        Matcher resource = Pattern.compile("No resource found with name '([^']+)'").matcher(msg);
        if (resource.find()) {
            return "JCuda's native library " + resource.group(1) + " is not on the class path (its -natives jar for"
                    + " this platform and JCuda version is missing)";
        }
        if (t instanceof NoClassDefFoundError) {
            return "an earlier attempt in this process failed (" + msg + ")";
        }
        int nl = msg.indexOf('\n');
        return t.getClass().getSimpleName() + ": " + (nl < 0 ? msg : msg.substring(0, nl)).strip();
    }

    private static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.US_ASCII).strip();
    }

    private static String mib(long bytes) {
        return bytes >= 1L << 30 ? gib(bytes)
                : String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
    }

    private static String gib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
    }
}
