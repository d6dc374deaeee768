package org.twobp.worker.backend.cpu;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.ConvShape;
import org.twobp.worker.backend.OpKind;
import org.twobp.worker.backend.OpStats;
import org.twobp.worker.backend.Shapes;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.MemoryTracker;
import org.twobp.worker.tensor.Tensor;

/**
 * The float32 CPU backend. GEMMs go to the system OpenBLAS through netlib's JNI binding
 * (falling back to a plain-Java kernel, with a log line, when no native BLAS loads); everything
 * else is Java loops split over a fixed number of threads.
 *
 * <p>Threads: the Java loops use {@link #threads()}; OpenBLAS uses its own pool, sized by
 * {@code OPENBLAS_NUM_THREADS} when the library loads (it cannot be changed from Java later), so
 * ranks sharing a node must get that variable in their environment. The backend warns when the
 * two disagree.
 *
 * <p>Memory: freed buffers go to a pool keyed by exact length and are handed out again, so that
 * after the first step the same per-micro-batch buffers are reused without garbage. The
 * {@link MemoryTracker} counts what tensors hold; {@link #pooledBytes()} what the pool keeps.
 */
public final class CpuBackend implements Backend {

    /** System property that forces the plain-Java GEMM ({@code -Dtwobp.blas=java}), for tests and comparisons. */
    public static final String BLAS_PROPERTY = "twobp.blas";

    private static final int ELEMENTS_PER_SHARE = 1 << 14;

    private final int threads;
    private final Parallel parallel;
    private final Gemm gemm;
    private final MemoryTracker memory = new MemoryTracker();
    private final OpStats stats = new OpStats();
    private final Map<Integer, ArrayDeque<float[]>> pool = new HashMap<>();
    private long pooledBytes;

    /** A backend with the cores of this node divided among the ranks the environment reports on it. */
    public CpuBackend() {
        this(defaultThreads(localRanksFromEnvironment()));
    }

    public CpuBackend(int threads) {
        this(threads, !"java".equalsIgnoreCase(System.getProperty(BLAS_PROPERTY, "native")));
    }

    /**
     * @param threads    threads for the Java loops of this rank
     * @param nativeBlas try the system BLAS first; false forces the plain-Java GEMM
     */
    public CpuBackend(int threads, boolean nativeBlas) {
        this.threads = threads;
        this.parallel = new Parallel(threads);
        Gemm chosen = null;
        if (nativeBlas) {
            try {
                chosen = NativeGemm.load();
            } catch (IllegalStateException e) {
                System.err.println("[twobp] no native BLAS: " + e.getMessage()
                        + ". Using the plain-Java GEMM, 20-50x slower.");
            }
        }
        this.gemm = chosen != null ? chosen : new JavaGemm(parallel);
        if (gemm.isNative()) {
            warnAboutBlasThreads(threads);
        }
    }

    /** Cores of this machine divided among the ranks on it (at least 1). */
    public static int defaultThreads(int localRanks) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, localRanks));
    }

    /** Threads OpenBLAS runs with, as far as the environment tells (0 when unset: all cores). */
    public static int openBlasThreadsFromEnvironment() {
        for (String var : new String[] {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"}) {
            String v = System.getenv(var);
            if (v != null && !v.isBlank()) {
                try {
                    return Integer.parseInt(v.trim());
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
        }
        return 0;
    }

    private static final java.util.concurrent.atomic.AtomicBoolean WARNED_THREADS =
            new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Ranks of this job on this node as the launcher's environment tells (Open MPI, MPICH/Hydra,
     * Slurm), 1 when nothing says.
     */
    public static int localRanksFromEnvironment() {
        for (String var : new String[] {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
            String v = System.getenv(var);
            if (v != null && !v.isBlank()) {
                try {
                    return Math.max(1, Integer.parseInt(v.trim().split("[^0-9]")[0]));
                } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                    return 1;
                }
            }
        }
        return 1;
    }

    /** Cores online on this machine, whatever this process is bound to (from /sys; else what Java sees). */
    static int onlineCores() {
        try {
            String spec = java.nio.file.Files.readString(java.nio.file.Path.of("/sys/devices/system/cpu/online")).strip();
            int n = 0;
            for (String part : spec.split(",")) {
                String[] r = part.split("-");
                n += r.length == 1 ? 1 : Integer.parseInt(r[1]) - Integer.parseInt(r[0]) + 1;
            }
            return n;
        } catch (java.io.IOException | RuntimeException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    /** Ranks that share a node each start their own OpenBLAS pool: warn when together they oversubscribe it. */
    private static void warnAboutBlasThreads(int threads) {
        int ranks = localRanksFromEnvironment();
        int blas = openBlasThreadsFromEnvironment();
        int cores = Runtime.getRuntime().availableProcessors();
        int effective = blas > 0 ? blas : cores;
        // a rank bound to its own cores (mpirun binds by default) sees only those: then only its own count matters
        boolean bound = cores < onlineCores();
        boolean oversubscribed = bound ? effective > cores : (long) effective * ranks > cores;
        if (ranks > 1 && oversubscribed && !WARNED_THREADS.getAndSet(true)) {
            System.err.println("[twobp] " + ranks + " ranks on this node with " + effective + " OpenBLAS threads each"
                    + " oversubscribe its " + cores + " cores. Start every rank with OPENBLAS_NUM_THREADS="
                    + Math.max(1, cores / ranks) + " in its environment (read when the library loads; e.g. mpirun -x"
                    + " OPENBLAS_NUM_THREADS=" + Math.max(1, cores / ranks) + ").");
        }
    }

    public int threads() {
        return threads;
    }

    /** Whether GEMMs run in the native BLAS. */
    public boolean hasNativeBlas() {
        return gemm.isNative();
    }

    public String gemmName() {
        return gemm.name();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String describe() {
        int blas = openBlasThreadsFromEnvironment();
        return "cpu backend: GEMM " + gemm.name() + (gemm.isNative() ? ", OpenBLAS threads "
                + (blas > 0 ? blas : "all cores") : "") + ", " + threads + " Java thread(s)";
    }

    // ------------------------------------------------------------------ memory

    @Override
    public synchronized Tensor allocate(MemoryCategory category, int... shape) {
        int n = Tensor.sizeOf(shape);
        ArrayDeque<float[]> free = pool.get(n);
        float[] data = free == null ? null : free.poll();
        if (data == null) {
            data = new float[n];
        } else {
            pooledBytes -= 4L * n;
        }
        memory.allocated(category, 4L * n);
        return Tensor.owning(new CpuStorage(data), category, shape);
    }

    @Override
    public synchronized void free(Tensor t) {
        float[] data = data(t);
        t.markFreed();
        memory.freed(t.category(), 4L * data.length);
        pool.computeIfAbsent(data.length, k -> new ArrayDeque<>()).push(data);
        pooledBytes += 4L * data.length;
    }

    @Override
    public synchronized void recategorize(Tensor t, MemoryCategory category) {
        if (t.category() == category) {
            return;
        }
        memory.moved(t.category(), category, t.bytes());
        t.setCategory(category);
    }

    /** Bytes kept in the pool for reuse, not counted by the tracker. */
    public synchronized long pooledBytes() {
        return pooledBytes;
    }

    /** Lets the garbage collector have the pooled buffers. */
    public synchronized void trimPool() {
        pool.clear();
        pooledBytes = 0;
    }

    @Override
    public MemoryTracker memory() {
        return memory;
    }

    @Override
    public OpStats stats() {
        return stats;
    }

    @Override
    public void copyFromHost(float[] src, int srcOffset, Tensor dst) {
        long t0 = System.nanoTime();
        System.arraycopy(src, srcOffset, data(dst), dst.offset(), dst.size());
        stats.record(OpKind.TRANSFER, System.nanoTime() - t0, 0);
    }

    @Override
    public void copyToHost(Tensor src, float[] dst, int dstOffset) {
        long t0 = System.nanoTime();
        System.arraycopy(data(src), src.offset(), dst, dstOffset, src.size());
        stats.record(OpKind.TRANSFER, System.nanoTime() - t0, 0);
    }

    @Override
    public void copyToBuffer(Tensor src, java.nio.FloatBuffer dst) {
        long t0 = System.nanoTime();
        dst.put(0, data(src), src.offset(), src.size());
        stats.record(OpKind.TRANSFER, System.nanoTime() - t0, 0);
    }

    @Override
    public void copyFromBuffer(java.nio.FloatBuffer src, Tensor dst) {
        long t0 = System.nanoTime();
        src.get(0, data(dst), dst.offset(), dst.size());
        stats.record(OpKind.TRANSFER, System.nanoTime() - t0, 0);
    }

    /** The Java array behind a CPU tensor (element 0 of the tensor is at {@code t.offset()}). */
    public static float[] data(Tensor t) {
        if (!(t.storage() instanceof CpuStorage s)) {
            throw new IllegalArgumentException(t + " does not live in CPU memory");
        }
        return s.data;
    }

    // ------------------------------------------------------------------ GEMM

    @Override
    public void gemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                   Tensor a, int offA, int lda, int strideA,
                                   Tensor b, int offB, int ldb, int strideB,
                                   float beta, Tensor c, int offC, int ldc, int strideC, int batch) {
        if (!Shapes.checkGemm(transA, transB, m, n, k, a, offA, lda, strideA, b, offB, ldb, strideB, c, offC, ldc,
                strideC, batch)) {
            return;
        }
        float[] ad = data(a);
        float[] bd = data(b);
        float[] cd = data(c);
        long t0 = System.nanoTime();
        for (int i = 0; i < batch; i++) {
            gemm.sgemm(transA, transB, m, n, k, alpha, ad, a.offset() + offA + i * strideA, lda,
                    bd, b.offset() + offB + i * strideB, ldb, beta, cd, c.offset() + offC + i * strideC, ldc);
        }
        stats.record(OpKind.GEMM, System.nanoTime() - t0, 2L * m * n * k * batch);
    }


    // ------------------------------------------------------------------ elementwise

    private int grainRows(int cols) {
        return Math.max(1, ELEMENTS_PER_SHARE / Math.max(1, cols));
    }


    @Override
    public void fill(Tensor t, float value) {
        long t0 = System.nanoTime();
        float[] d = data(t);
        int o = t.offset();
        parallel.forRange(t.size(), ELEMENTS_PER_SHARE, (from, to) -> java.util.Arrays.fill(d, o + from, o + to, value));
        stats.record(OpKind.ELEMENTWISE, System.nanoTime() - t0, 0);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        Shapes.sameSize(src, dst);
        long t0 = System.nanoTime();
        float[] s = data(src);
        float[] d = data(dst);
        int so = src.offset();
        int dof = dst.offset();
        parallel.forRange(src.size(), ELEMENTS_PER_SHARE, (from, to) -> System.arraycopy(s, so + from, d, dof + from,
                to - from));
        stats.record(OpKind.ELEMENTWISE, System.nanoTime() - t0, 0);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        Shapes.sameSize(a, b);
        Shapes.sameSize(a, out);
        long t0 = System.nanoTime();
        float[] ad = data(a);
        float[] bd = data(b);
        float[] od = data(out);
        int ao = a.offset();
        int bo = b.offset();
        int oo = out.offset();
        parallel.forRange(a.size(), ELEMENTS_PER_SHARE, (from, to) -> {
            for (int i = from; i < to; i++) {
                od[oo + i] = ad[ao + i] + bd[bo + i];
            }
        });
        stats.record(OpKind.ELEMENTWISE, System.nanoTime() - t0, 0);
    }

    @Override
    public void scale(Tensor t, float s) {
        long t0 = System.nanoTime();
        float[] d = data(t);
        int o = t.offset();
        parallel.forRange(t.size(), ELEMENTS_PER_SHARE, (from, to) -> {
            for (int i = from; i < to; i++) {
                d[o + i] *= s;
            }
        });
        stats.record(OpKind.ELEMENTWISE, System.nanoTime() - t0, 0);
    }

    @Override
    public double sumOfSquares(Tensor t) {
        long t0 = System.nanoTime();
        float[] d = data(t);
        int o = t.offset();
        int n = t.size();
        int shares = Math.max(1, Math.min(threads, n / ELEMENTS_PER_SHARE));
        double[] partial = new double[shares];
        parallel.forRange(shares, 1, (from, to) -> {
            for (int s = from; s < to; s++) {
                int i0 = (int) ((long) n * s / shares);
                int i1 = (int) ((long) n * (s + 1) / shares);
                double acc = 0;
                for (int i = i0; i < i1; i++) {
                    double v = d[o + i];
                    acc += v * v;
                }
                partial[s] = acc;
            }
        });
        double total = 0;
        for (double p : partial) {
            total += p;
        }
        stats.record(OpKind.OPTIMIZER, System.nanoTime() - t0, 0);
        return total;
    }

    @Override
    public void addRowVector(Tensor y, Tensor bias) {
        int cols = bias.size();
        if (y.size() % cols != 0) {
            throw new IllegalArgumentException("cannot add a row vector of " + cols + " to " + y);
        }
        long t0 = System.nanoTime();
        float[] yd = data(y);
        float[] bd = data(bias);
        int yo = y.offset();
        int bo = bias.offset();
        parallel.forRange(y.size() / cols, grainRows(cols), (from, to) -> {
            for (int r = from; r < to; r++) {
                int row = yo + r * cols;
                for (int j = 0; j < cols; j++) {
                    yd[row + j] += bd[bo + j];
                }
            }
        });
        stats.record(OpKind.ELEMENTWISE, System.nanoTime() - t0, 0);
    }

    @Override
    public void sumRows(Tensor dy, Tensor dbias) {
        int cols = dbias.size();
        if (dy.size() % cols != 0) {
            throw new IllegalArgumentException("cannot sum rows of " + dy + " into " + cols + " columns");
        }
        long t0 = System.nanoTime();
        float[] dd = data(dy);
        float[] bd = data(dbias);
        int dof = dy.offset();
        int bo = dbias.offset();
        int rows = dy.size() / cols;
        parallel.forRange(cols, Math.max(1, cols / threads), (from, to) -> {
            for (int j = from; j < to; j++) {
                double acc = 0;
                for (int r = 0; r < rows; r++) {
                    acc += dd[dof + r * cols + j];
                }
                bd[bo + j] += (float) acc;
            }
        });
        stats.record(OpKind.ELEMENTWISE, System.nanoTime() - t0, 0);
    }

    // ------------------------------------------------------------------ norms

    @Override
    public void rmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        int c = weight.size();
        int rows = x.size() / c;
        Shapes.sameSize(x, out);
        long t0 = System.nanoTime();
        float[] xd = data(x);
        float[] wd = data(weight);
        float[] od = data(out);
        float[] rd = data(rstd);
        int xo = x.offset();
        int wo = weight.offset();
        int oo = out.offset();
        int ro = rstd.offset();
        parallel.forRange(rows, grainRows(c), (from, to) -> {
            for (int r = from; r < to; r++) {
                int xr = xo + r * c;
                double ss = 0;
                for (int j = 0; j < c; j++) {
                    double v = xd[xr + j];
                    ss += v * v;
                }
                float s = (float) (1.0 / Math.sqrt(ss / c + eps));
                rd[ro + r] = s;
                int or = oo + r * c;
                for (int j = 0; j < c; j++) {
                    od[or + j] = xd[xr + j] * s * wd[wo + j];
                }
            }
        });
        stats.record(OpKind.NORM, System.nanoTime() - t0, 0);
    }

    @Override
    public void rmsNormBackwardInput(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx) {
        int c = weight.size();
        int rows = x.size() / c;
        long t0 = System.nanoTime();
        float[] gd = data(dout);
        float[] xd = data(x);
        float[] wd = data(weight);
        float[] rd = data(rstd);
        float[] dd = data(dx);
        int go = dout.offset();
        int xo = x.offset();
        int wo = weight.offset();
        int ro = rstd.offset();
        int dof = dx.offset();
        parallel.forRange(rows, grainRows(c), (from, to) -> {
            for (int r = from; r < to; r++) {
                int gr = go + r * c;
                int xr = xo + r * c;
                float s = rd[ro + r];
                double dot = 0;
                for (int j = 0; j < c; j++) {
                    dot += (double) gd[gr + j] * wd[wo + j] * xd[xr + j];
                }
                // xhat = x * s; dx = s * (dxhat - xhat * mean(dxhat * xhat))
                float k = (float) (dot * s * s / c);
                int dr = dof + r * c;
                for (int j = 0; j < c; j++) {
                    dd[dr + j] = s * (gd[gr + j] * wd[wo + j] - xd[xr + j] * k);
                }
            }
        });
        stats.record(OpKind.NORM, System.nanoTime() - t0, 0);
    }

    @Override
    public void rmsNormBackwardWeight(Tensor dout, Tensor x, Tensor rstd, Tensor dweight) {
        int c = dweight.size();
        int rows = x.size() / c;
        long t0 = System.nanoTime();
        float[] gd = data(dout);
        float[] xd = data(x);
        float[] rd = data(rstd);
        float[] wd = data(dweight);
        int go = dout.offset();
        int xo = x.offset();
        int ro = rstd.offset();
        int wo = dweight.offset();
        parallel.forRange(c, Math.max(1, c / threads), (from, to) -> {
            double[] acc = new double[to - from];
            for (int r = 0; r < rows; r++) {
                int gr = go + r * c;
                int xr = xo + r * c;
                double s = rd[ro + r];
                for (int j = from; j < to; j++) {
                    acc[j - from] += gd[gr + j] * xd[xr + j] * s;
                }
            }
            for (int j = from; j < to; j++) {
                wd[wo + j] += (float) acc[j - from];
            }
        });
        stats.record(OpKind.NORM, System.nanoTime() - t0, 0);
    }

    @Override
    public void layerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean,
                                 Tensor rstd) {
        int c = weight.size();
        int rows = x.size() / c;
        Shapes.sameSize(x, out);
        long t0 = System.nanoTime();
        float[] xd = data(x);
        float[] wd = data(weight);
        float[] bd = data(bias);
        float[] od = data(out);
        float[] md = data(mean);
        float[] rd = data(rstd);
        int xo = x.offset();
        int wo = weight.offset();
        int bo = bias.offset();
        int oo = out.offset();
        int mo = mean.offset();
        int ro = rstd.offset();
        parallel.forRange(rows, grainRows(c), (from, to) -> {
            for (int r = from; r < to; r++) {
                int xr = xo + r * c;
                double sum = 0;
                for (int j = 0; j < c; j++) {
                    sum += xd[xr + j];
                }
                double mu = sum / c;
                double var = 0;
                for (int j = 0; j < c; j++) {
                    double dv = xd[xr + j] - mu;
                    var += dv * dv;
                }
                float s = (float) (1.0 / Math.sqrt(var / c + eps));
                float m = (float) mu;
                md[mo + r] = m;
                rd[ro + r] = s;
                int or = oo + r * c;
                for (int j = 0; j < c; j++) {
                    od[or + j] = (xd[xr + j] - m) * s * wd[wo + j] + bd[bo + j];
                }
            }
        });
        stats.record(OpKind.NORM, System.nanoTime() - t0, 0);
    }

    @Override
    public void layerNormBackwardInput(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor dx) {
        int c = weight.size();
        int rows = x.size() / c;
        long t0 = System.nanoTime();
        float[] gd = data(dout);
        float[] xd = data(x);
        float[] wd = data(weight);
        float[] md = data(mean);
        float[] rd = data(rstd);
        float[] dd = data(dx);
        int go = dout.offset();
        int xo = x.offset();
        int wo = weight.offset();
        int mo = mean.offset();
        int ro = rstd.offset();
        int dof = dx.offset();
        parallel.forRange(rows, grainRows(c), (from, to) -> {
            for (int r = from; r < to; r++) {
                int gr = go + r * c;
                int xr = xo + r * c;
                float m = md[mo + r];
                float s = rd[ro + r];
                double sumG = 0;
                double sumGx = 0;
                for (int j = 0; j < c; j++) {
                    double g = (double) gd[gr + j] * wd[wo + j];
                    sumG += g;
                    sumGx += g * (xd[xr + j] - m) * s;
                }
                float meanG = (float) (sumG / c);
                float meanGx = (float) (sumGx / c);
                int dr = dof + r * c;
                for (int j = 0; j < c; j++) {
                    float xhat = (xd[xr + j] - m) * s;
                    dd[dr + j] = s * (gd[gr + j] * wd[wo + j] - meanG - xhat * meanGx);
                }
            }
        });
        stats.record(OpKind.NORM, System.nanoTime() - t0, 0);
    }

    @Override
    public void layerNormBackwardWeight(Tensor dout, Tensor x, Tensor mean, Tensor rstd, Tensor dweight,
                                        Tensor dbias) {
        int c = dweight.size();
        int rows = x.size() / c;
        long t0 = System.nanoTime();
        float[] gd = data(dout);
        float[] xd = data(x);
        float[] md = data(mean);
        float[] rd = data(rstd);
        float[] wd = data(dweight);
        float[] bd = data(dbias);
        int go = dout.offset();
        int xo = x.offset();
        int mo = mean.offset();
        int ro = rstd.offset();
        int wo = dweight.offset();
        int bo = dbias.offset();
        parallel.forRange(c, Math.max(1, c / threads), (from, to) -> {
            double[] accW = new double[to - from];
            double[] accB = new double[to - from];
            for (int r = 0; r < rows; r++) {
                int gr = go + r * c;
                int xr = xo + r * c;
                float m = md[mo + r];
                float s = rd[ro + r];
                for (int j = from; j < to; j++) {
                    float g = gd[gr + j];
                    accW[j - from] += g * ((xd[xr + j] - m) * s);
                    accB[j - from] += g;
                }
            }
            for (int j = from; j < to; j++) {
                wd[wo + j] += (float) accW[j - from];
                bd[bo + j] += (float) accB[j - from];
            }
        });
        stats.record(OpKind.NORM, System.nanoTime() - t0, 0);
    }

    // ------------------------------------------------------------------ convolution

    /**
     * The convolutions run as GEMMs over an image's column matrix (see {@link ConvShape}), built
     * in a workspace tensor of one image by {@link #im2col} and folded back by {@link #col2im};
     * the GEMMs go through {@link #gemmStridedBatched} and count as GEMM time and FLOPs.
     */
    @Override
    public void conv2dForward(ConvShape s, Tensor x, Tensor w, Tensor y) {
        s.check("conv2dForward", x, w, y);
        int k = s.colRows();
        int p = s.colCols();
        Tensor col = allocate(MemoryCategory.WORKSPACE, k, p);
        try {
            for (int n = 0; n < s.batch(); n++) {
                im2col(s, x, n, col);
                gemm(false, false, s.filters(), p, k, 1f, w, 0, k, col, 0, p, 0f, y, n * s.outImageSize(), p);
            }
        } finally {
            free(col);
        }
    }

    @Override
    public void conv2dBackwardInput(ConvShape s, Tensor dy, Tensor w, Tensor dx) {
        s.check("conv2dBackwardInput", dx, w, dy);
        int k = s.colRows();
        int p = s.colCols();
        Tensor col = allocate(MemoryCategory.WORKSPACE, k, p);
        try {
            for (int n = 0; n < s.batch(); n++) {
                gemm(true, false, k, p, s.filters(), 1f, w, 0, k, dy, n * s.outImageSize(), p, 0f, col, 0, p);
                col2im(s, col, dx, n);
            }
        } finally {
            free(col);
        }
    }

    @Override
    public void conv2dBackwardWeight(ConvShape s, Tensor dy, Tensor x, Tensor dw) {
        s.check("conv2dBackwardWeight", x, dw, dy);
        int k = s.colRows();
        int p = s.colCols();
        Tensor col = allocate(MemoryCategory.WORKSPACE, k, p);
        try {
            for (int n = 0; n < s.batch(); n++) {
                im2col(s, x, n, col);
                gemm(false, true, s.filters(), k, p, 1f, dy, n * s.outImageSize(), p, col, 0, p, 1f, dw, 0, k);
            }
        } finally {
            free(col);
        }
    }

    /** Column matrix of image {@code n} of x into col [C*kh*kw, outH*outW]; rows split over the threads. */
    private void im2col(ConvShape s, Tensor x, int n, Tensor col) {
        long t0 = System.nanoTime();
        float[] xd = data(x);
        float[] cd = data(col);
        int xo = x.offset() + n * s.imageSize();
        int co = col.offset();
        int kh = s.kernelH();
        int kw = s.kernelW();
        int h = s.height();
        int wd = s.width();
        int oh = s.outHeight();
        int ow = s.outWidth();
        int stride = s.stride();
        int pad = s.pad();
        int p = oh * ow;
        parallel.forRange(s.colRows(), grainRows(p), (from, to) -> {
            for (int r = from; r < to; r++) {
                int c = r / (kh * kw);
                int i = r / kw % kh;
                int j = r % kw;
                int plane = xo + c * h * wd;
                int dst = co + r * p;
                for (int y = 0; y < oh; y++) {
                    int ih = y * stride - pad + i;
                    int row = dst + y * ow;
                    if (ih < 0 || ih >= h) {
                        java.util.Arrays.fill(cd, row, row + ow, 0f);
                        continue;
                    }
                    int src = plane + ih * wd;
                    for (int xx = 0; xx < ow; xx++) {
                        int iw = xx * stride - pad + j;
                        cd[row + xx] = iw >= 0 && iw < wd ? xd[src + iw] : 0f;
                    }
                }
            }
        });
        stats.record(OpKind.CONV, System.nanoTime() - t0, 0);
    }

    /**
     * Image {@code n} of dx from the column gradient: each input element sums the taps that read
     * it, in kernel order (the same order as the CUDA kernel; no scatter, no races).
     */
    private void col2im(ConvShape s, Tensor col, Tensor dx, int n) {
        long t0 = System.nanoTime();
        float[] cd = data(col);
        float[] dd = data(dx);
        int co = col.offset();
        int dof = dx.offset() + n * s.imageSize();
        int kh = s.kernelH();
        int kw = s.kernelW();
        int h = s.height();
        int wd = s.width();
        int oh = s.outHeight();
        int ow = s.outWidth();
        int stride = s.stride();
        int pad = s.pad();
        int p = oh * ow;
        parallel.forRange(s.channels() * h, grainRows(wd * kh * kw), (from, to) -> {
            for (int r = from; r < to; r++) {
                int c = r / h;
                int ih = r % h;
                for (int iw = 0; iw < wd; iw++) {
                    float acc = 0f;
                    for (int i = 0; i < kh; i++) {
                        int ty = ih + pad - i;
                        if (ty < 0 || ty % stride != 0 || ty / stride >= oh) {
                            continue;
                        }
                        int y = ty / stride;
                        for (int j = 0; j < kw; j++) {
                            int tx = iw + pad - j;
                            if (tx < 0 || tx % stride != 0 || tx / stride >= ow) {
                                continue;
                            }
                            acc += cd[co + ((c * kh + i) * kw + j) * p + y * ow + tx / stride];
                        }
                    }
                    dd[dof + r * wd + iw] = acc;
                }
            }
        });
        stats.record(OpKind.CONV, System.nanoTime() - t0, 0);
    }

    @Override
    public void addChannelBias(Tensor y, Tensor bias, int batch, int channels, int spatial) {
        ConvShape.checkActivation("addChannelBias", batch, channels, spatial, y);
        ConvShape.checkPerChannel("addChannelBias", channels, bias);
        long t0 = System.nanoTime();
        float[] yd = data(y);
        float[] bd = data(bias);
        int yo = y.offset();
        int bo = bias.offset();
        parallel.forRange(batch * channels, grainRows(spatial), (from, to) -> {
            for (int plane = from; plane < to; plane++) {
                float b = bd[bo + plane % channels];
                int base = yo + plane * spatial;
                for (int i = 0; i < spatial; i++) {
                    yd[base + i] += b;
                }
            }
        });
        stats.record(OpKind.ELEMENTWISE, System.nanoTime() - t0, 0);
    }

    @Override
    public void sumChannels(Tensor dy, Tensor dbias, int batch, int channels, int spatial) {
        ConvShape.checkActivation("sumChannels", batch, channels, spatial, dy);
        ConvShape.checkPerChannel("sumChannels", channels, dbias);
        long t0 = System.nanoTime();
        float[] gd = data(dy);
        float[] bd = data(dbias);
        int go = dy.offset();
        int bo = dbias.offset();
        parallel.forRange(channels, 1, (from, to) -> {
            for (int c = from; c < to; c++) {
                double acc = 0;
                for (int n = 0; n < batch; n++) {
                    int base = go + (n * channels + c) * spatial;
                    for (int i = 0; i < spatial; i++) {
                        acc += gd[base + i];
                    }
                }
                bd[bo + c] += (float) acc;
            }
        });
        stats.record(OpKind.ELEMENTWISE, System.nanoTime() - t0, 0);
    }

    // ------------------------------------------------------------------ batch norm


    @Override
    public void batchNormForward(Tensor x, Tensor gamma, Tensor beta, float eps, int batch, int channels, int spatial,
                                 Tensor out, Tensor mean, Tensor rstd) {
        ConvShape.checkBatchNorm("batchNormForward", batch, channels, spatial, new Tensor[] {x, out},
                new Tensor[] {gamma, beta, mean, rstd});
        long t0 = System.nanoTime();
        float[] xd = data(x);
        float[] gd = data(gamma);
        float[] bd = data(beta);
        float[] od = data(out);
        float[] md = data(mean);
        float[] rd = data(rstd);
        int xo = x.offset();
        int oo = out.offset();
        double count = (double) batch * spatial;
        parallel.forRange(channels, 1, (from, to) -> {
            for (int c = from; c < to; c++) {
                double sum = 0;
                for (int n = 0; n < batch; n++) {
                    int base = xo + (n * channels + c) * spatial;
                    for (int i = 0; i < spatial; i++) {
                        sum += xd[base + i];
                    }
                }
                double mu = sum / count;
                double var = 0;                  // two passes: no cancellation for channels with a large mean
                for (int n = 0; n < batch; n++) {
                    int base = xo + (n * channels + c) * spatial;
                    for (int i = 0; i < spatial; i++) {
                        double d = xd[base + i] - mu;
                        var += d * d;
                    }
                }
                float m = (float) mu;
                float s = (float) (1.0 / Math.sqrt(var / count + eps));
                md[mean.offset() + c] = m;
                rd[rstd.offset() + c] = s;
                float g = gd[gamma.offset() + c];
                float b = bd[beta.offset() + c];
                for (int n = 0; n < batch; n++) {
                    int xb = xo + (n * channels + c) * spatial;
                    int ob = oo + (n * channels + c) * spatial;
                    for (int i = 0; i < spatial; i++) {
                        od[ob + i] = (xd[xb + i] - m) * s * g + b;
                    }
                }
            }
        });
        stats.record(OpKind.NORM, System.nanoTime() - t0, 0);
    }

    @Override
    public void batchNormBackwardInput(Tensor dout, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, int batch,
                                       int channels, int spatial, Tensor dx) {
        ConvShape.checkBatchNorm("batchNormBackwardInput", batch, channels, spatial, new Tensor[] {dout, x, dx},
                new Tensor[] {gamma, mean, rstd});
        long t0 = System.nanoTime();
        float[] gd = data(dout);
        float[] xd = data(x);
        float[] wd = data(gamma);
        float[] md = data(mean);
        float[] rd = data(rstd);
        float[] dd = data(dx);
        int go = dout.offset();
        int xo = x.offset();
        int dof = dx.offset();
        double count = (double) batch * spatial;
        parallel.forRange(channels, 1, (from, to) -> {
            for (int c = from; c < to; c++) {
                float m = md[mean.offset() + c];
                float s = rd[rstd.offset() + c];
                double sumG = 0;
                double sumGx = 0;
                for (int n = 0; n < batch; n++) {
                    int base = (n * channels + c) * spatial;
                    for (int i = 0; i < spatial; i++) {
                        float g = gd[go + base + i];
                        sumG += g;
                        sumGx += g * ((xd[xo + base + i] - m) * s);
                    }
                }
                float meanG = (float) (sumG / count);
                float meanGx = (float) (sumGx / count);
                float k = s * wd[gamma.offset() + c];
                for (int n = 0; n < batch; n++) {
                    int base = (n * channels + c) * spatial;
                    for (int i = 0; i < spatial; i++) {
                        float xhat = (xd[xo + base + i] - m) * s;
                        dd[dof + base + i] = k * (gd[go + base + i] - meanG - xhat * meanGx);
                    }
                }
            }
        });
        stats.record(OpKind.NORM, System.nanoTime() - t0, 0);
    }

    @Override
    public void batchNormBackwardWeight(Tensor dout, Tensor x, Tensor mean, Tensor rstd, int batch, int channels,
                                        int spatial, Tensor dgamma, Tensor dbeta) {
        ConvShape.checkBatchNorm("batchNormBackwardWeight", batch, channels, spatial, new Tensor[] {dout, x},
                new Tensor[] {mean, rstd, dgamma, dbeta});
        long t0 = System.nanoTime();
        float[] gd = data(dout);
        float[] xd = data(x);
        float[] md = data(mean);
        float[] rd = data(rstd);
        float[] wd = data(dgamma);
        float[] bd = data(dbeta);
        int go = dout.offset();
        int xo = x.offset();
        parallel.forRange(channels, 1, (from, to) -> {
            for (int c = from; c < to; c++) {
                float m = md[mean.offset() + c];
                float s = rd[rstd.offset() + c];
                double accW = 0;
                double accB = 0;
                for (int n = 0; n < batch; n++) {
                    int base = (n * channels + c) * spatial;
                    for (int i = 0; i < spatial; i++) {
                        float g = gd[go + base + i];
                        accW += g * ((xd[xo + base + i] - m) * s);
                        accB += g;
                    }
                }
                wd[dgamma.offset() + c] += (float) accW;
                bd[dbeta.offset() + c] += (float) accB;
            }
        });
        stats.record(OpKind.NORM, System.nanoTime() - t0, 0);
    }

    // ------------------------------------------------------------------ attention pieces

    @Override
    public void rope(Tensor x, int col, int ld, int rows, int seqLen, int heads, int headDim, Tensor cosSin,
                     boolean inverse) {
        int half = headDim / 2;
        if (cosSin.size() < seqLen * half * 2) {
            throw new IllegalArgumentException("RoPE table " + cosSin + " is too small for " + seqLen
                    + " positions of head width " + headDim);
        }
        long t0 = System.nanoTime();
        float[] xd = data(x);
        float[] cs = data(cosSin);
        int xo = x.offset() + col;
        int co = cosSin.offset();
        float sign = inverse ? -1f : 1f;
        parallel.forRange(rows, grainRows(heads * headDim), (from, to) -> {
            for (int r = from; r < to; r++) {
                int pos = r % seqLen;
                int tab = co + pos * half * 2;
                for (int h = 0; h < heads; h++) {
                    int base = xo + r * ld + h * headDim;
                    for (int i = 0; i < half; i++) {
                        float cos = cs[tab + 2 * i];
                        float sin = sign * cs[tab + 2 * i + 1];
                        float x0 = xd[base + 2 * i];
                        float x1 = xd[base + 2 * i + 1];
                        xd[base + 2 * i] = x0 * cos - x1 * sin;
                        xd[base + 2 * i + 1] = x0 * sin + x1 * cos;
                    }
                }
            }
        });
        stats.record(OpKind.ROPE, System.nanoTime() - t0, 0);
    }

    @Override
    public void causalSoftmaxForward(Tensor scores, int matrices, int t, float scale) {
        long t0 = System.nanoTime();
        float[] d = data(scores);
        int o = scores.offset();
        parallel.forRange(matrices * t, grainRows(t), (from, to) -> {
            for (int row = from; row < to; row++) {
                int i = row % t;
                int base = o + row * t;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    max = Math.max(max, d[base + j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) {
                    float e = FastExp.exp(scale * (d[base + j] - max));
                    d[base + j] = e;
                    sum += e;
                }
                float inv = (float) (1.0 / sum);
                for (int j = 0; j <= i; j++) {
                    d[base + j] *= inv;
                }
                for (int j = i + 1; j < t; j++) {
                    d[base + j] = 0f;
                }
            }
        });
        stats.record(OpKind.ATTENTION_SOFTMAX, System.nanoTime() - t0, 0);
    }

    @Override
    public void causalSoftmaxBackward(Tensor probs, Tensor dprobs, int matrices, int t, float scale) {
        long t0 = System.nanoTime();
        float[] p = data(probs);
        float[] g = data(dprobs);
        int po = probs.offset();
        int go = dprobs.offset();
        parallel.forRange(matrices * t, grainRows(t), (from, to) -> {
            for (int row = from; row < to; row++) {
                int i = row % t;
                int pb = po + row * t;
                int gb = go + row * t;
                double dot = 0;
                for (int j = 0; j <= i; j++) {
                    dot += (double) p[pb + j] * g[gb + j];
                }
                float fdot = (float) dot;
                for (int j = 0; j <= i; j++) {
                    g[gb + j] = scale * p[pb + j] * (g[gb + j] - fdot);
                }
                for (int j = i + 1; j < t; j++) {
                    g[gb + j] = 0f;
                }
            }
        });
        stats.record(OpKind.ATTENTION_SOFTMAX, System.nanoTime() - t0, 0);
    }

    // ------------------------------------------------------------------ activations

    @Override
    public void swigluForward(Tensor gateUp, Tensor out) {
        int f = out.cols();
        int rows = out.rows();
        if (gateUp.size() != 2 * out.size()) {
            throw new IllegalArgumentException("SwiGLU needs gate-and-up [N, 2F] for out [N, F]: " + gateUp + ", " + out);
        }
        long t0 = System.nanoTime();
        float[] h = data(gateUp);
        float[] o = data(out);
        int ho = gateUp.offset();
        int oo = out.offset();
        parallel.forRange(rows, grainRows(2 * f), (from, to) -> {
            for (int r = from; r < to; r++) {
                int hr = ho + r * 2 * f;
                int or = oo + r * f;
                for (int j = 0; j < f; j++) {
                    float g = h[hr + j];
                    float sig = FastExp.sigmoid(g);
                    o[or + j] = g * sig * h[hr + f + j];
                }
            }
        });
        stats.record(OpKind.ACTIVATION, System.nanoTime() - t0, 0);
    }

    @Override
    public void swigluBackward(Tensor dout, Tensor gateUp, Tensor dGateUp) {
        int f = dout.cols();
        int rows = dout.rows();
        Shapes.sameSize(gateUp, dGateUp);
        long t0 = System.nanoTime();
        float[] dd = data(dout);
        float[] h = data(gateUp);
        float[] dh = data(dGateUp);
        int dof = dout.offset();
        int ho = gateUp.offset();
        int dho = dGateUp.offset();
        parallel.forRange(rows, grainRows(2 * f), (from, to) -> {
            for (int r = from; r < to; r++) {
                int hr = ho + r * 2 * f;
                int dhr = dho + r * 2 * f;
                int dr = dof + r * f;
                for (int j = 0; j < f; j++) {
                    float g = h[hr + j];
                    float u = h[hr + f + j];
                    float sig = FastExp.sigmoid(g);
                    float d = dd[dr + j];
                    dh[dhr + j] = d * u * sig * (1f + g * (1f - sig));
                    dh[dhr + f + j] = d * g * sig;
                }
            }
        });
        stats.record(OpKind.ACTIVATION, System.nanoTime() - t0, 0);
    }

    private static final float GELU_K = (float) Math.sqrt(2.0 / Math.PI);

    @Override
    public void geluForward(Tensor x, Tensor out) {
        Shapes.sameSize(x, out);
        long t0 = System.nanoTime();
        float[] xd = data(x);
        float[] od = data(out);
        int xo = x.offset();
        int oo = out.offset();
        parallel.forRange(x.size(), ELEMENTS_PER_SHARE, (from, to) -> {
            for (int i = from; i < to; i++) {
                float v = xd[xo + i];
                float u = GELU_K * (v + 0.044715f * v * v * v);
                od[oo + i] = 0.5f * v * (1f + FastExp.tanh(u));
            }
        });
        stats.record(OpKind.ACTIVATION, System.nanoTime() - t0, 0);
    }

    @Override
    public void geluBackward(Tensor dout, Tensor x, Tensor dx) {
        Shapes.sameSize(x, dx);
        long t0 = System.nanoTime();
        float[] gd = data(dout);
        float[] xd = data(x);
        float[] dd = data(dx);
        int go = dout.offset();
        int xo = x.offset();
        int dof = dx.offset();
        parallel.forRange(x.size(), ELEMENTS_PER_SHARE, (from, to) -> {
            for (int i = from; i < to; i++) {
                float v = xd[xo + i];
                float u = GELU_K * (v + 0.044715f * v * v * v);
                float th = FastExp.tanh(u);
                float sech2 = 1f - th * th;
                float grad = 0.5f * (1f + th) + 0.5f * v * sech2 * GELU_K * (1f + 3f * 0.044715f * v * v);
                dd[dof + i] = gd[go + i] * grad;
            }
        });
        stats.record(OpKind.ACTIVATION, System.nanoTime() - t0, 0);
    }

    // ------------------------------------------------------------------ embedding and loss

    @Override
    public void embeddingForward(Tensor table, int[] tokens, int offset, Tensor out) {
        int c = table.cols();
        int vocab = table.rows();
        int rows = out.size() / c;
        long t0 = System.nanoTime();
        float[] td = data(table);
        float[] od = data(out);
        int to0 = table.offset();
        int oo = out.offset();
        parallel.forRange(rows, grainRows(c), (from, to) -> {
            for (int r = from; r < to; r++) {
                int id = tokens[offset + r];
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("token id " + id + " at position " + r
                            + " is outside the embedding table of " + vocab + " rows");
                }
                System.arraycopy(td, to0 + id * c, od, oo + r * c, c);
            }
        });
        stats.record(OpKind.EMBEDDING, System.nanoTime() - t0, 0);
    }

    @Override
    public void embeddingBackward(Tensor dout, int[] tokens, int offset, Tensor dtable) {
        int c = dtable.cols();
        int rows = dout.size() / c;
        long t0 = System.nanoTime();
        float[] gd = data(dout);
        float[] td = data(dtable);
        int go = dout.offset();
        int tof = dtable.offset();
        // Split by columns: threads never write the same element, whatever the token ids.
        parallel.forRange(c, Math.max(1, c / threads), (from, to) -> {
            for (int r = 0; r < rows; r++) {
                int row = tof + tokens[offset + r] * c;
                int g = go + r * c;
                for (int j = from; j < to; j++) {
                    td[row + j] += gd[g + j];
                }
            }
        });
        stats.record(OpKind.EMBEDDING, System.nanoTime() - t0, 0);
    }

    @Override
    public void crossEntropyForward(Tensor logits, int[] targets, int offset, Tensor losses, Tensor correct) {
        int v = logits.cols();
        int rows = logits.rows();
        long t0 = System.nanoTime();
        float[] ld = data(logits);
        float[] lossd = data(losses);
        float[] cd = data(correct);
        int lo = logits.offset();
        int lso = losses.offset();
        int co = correct.offset();
        parallel.forRange(rows, grainRows(v), (from, to) -> {
            for (int r = from; r < to; r++) {
                int base = lo + r * v;
                int target = targets[offset + r];
                if (target >= v) {
                    throw new IllegalArgumentException("target id " + target + " at position " + r
                            + " is outside the vocabulary of " + v);
                }
                float max = Float.NEGATIVE_INFINITY;
                int arg = 0;
                for (int j = 0; j < v; j++) {
                    if (ld[base + j] > max) {
                        max = ld[base + j];
                        arg = j;
                    }
                }
                float targetLogit = target >= 0 ? ld[base + target] : 0f;
                double sum = 0;
                for (int j = 0; j < v; j++) {
                    float e = FastExp.exp(ld[base + j] - max);
                    ld[base + j] = e;
                    sum += e;
                }
                float inv = (float) (1.0 / sum);
                for (int j = 0; j < v; j++) {
                    ld[base + j] *= inv;
                }
                if (target >= 0) {
                    lossd[lso + r] = (float) (Math.log(sum) + max - targetLogit);
                    cd[co + r] = arg == target ? 1f : 0f;
                } else {
                    lossd[lso + r] = 0f;
                    cd[co + r] = 0f;
                }
            }
        });
        stats.record(OpKind.CROSS_ENTROPY, System.nanoTime() - t0, 0);
    }

    @Override
    public void crossEntropyBackward(Tensor probs, int[] targets, int offset, float scale) {
        int v = probs.cols();
        int rows = probs.rows();
        long t0 = System.nanoTime();
        float[] pd = data(probs);
        int po = probs.offset();
        parallel.forRange(rows, grainRows(v), (from, to) -> {
            for (int r = from; r < to; r++) {
                int base = po + r * v;
                int target = targets[offset + r];
                if (target < 0) {
                    java.util.Arrays.fill(pd, base, base + v, 0f);
                    continue;
                }
                for (int j = 0; j < v; j++) {
                    pd[base + j] *= scale;
                }
                pd[base + target] -= scale;
            }
        });
        stats.record(OpKind.CROSS_ENTROPY, System.nanoTime() - t0, 0);
    }

    // ------------------------------------------------------------------ optimizer

    @Override
    public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                      float weightDecay, float gradScale, int step) {
        Shapes.sameSize(p, g);
        Shapes.sameSize(p, m);
        Shapes.sameSize(p, v);
        long t0 = System.nanoTime();
        float[] pd = data(p);
        float[] gd = data(g);
        float[] md = data(m);
        float[] vd = data(v);
        int po = p.offset();
        int go = g.offset();
        int mo = m.offset();
        int vo = v.offset();
        float bc1 = (float) (1.0 - Math.pow(beta1, step));
        float bc2 = (float) (1.0 - Math.pow(beta2, step));
        parallel.forRange(p.size(), ELEMENTS_PER_SHARE, (from, to) -> {
            for (int i = from; i < to; i++) {
                float grad = gd[go + i] * gradScale;
                float mi = beta1 * md[mo + i] + (1f - beta1) * grad;
                float vi = beta2 * vd[vo + i] + (1f - beta2) * grad * grad;
                md[mo + i] = mi;
                vd[vo + i] = vi;
                float mhat = mi / bc1;
                float vhat = vi / bc2;
                float w = pd[po + i];
                pd[po + i] = w - lr * (mhat / ((float) Math.sqrt(vhat) + eps) + weightDecay * w);
            }
        });
        stats.record(OpKind.OPTIMIZER, System.nanoTime() - t0, 0);
    }

    @Override
    public void sgd(Tensor p, Tensor g, Tensor buf, float lr, float momentum, float weightDecay, float gradScale,
                    boolean nesterov) {
        Shapes.sameSize(p, g);
        Shapes.sameSize(p, buf);
        long t0 = System.nanoTime();
        float[] pd = data(p);
        float[] gd = data(g);
        float[] bd = data(buf);
        int po = p.offset();
        int go = g.offset();
        int bo = buf.offset();
        parallel.forRange(p.size(), ELEMENTS_PER_SHARE, (from, to) -> {
            for (int i = from; i < to; i++) {
                float w = pd[po + i];
                float grad = gd[go + i] * gradScale + weightDecay * w;
                float b = momentum * bd[bo + i] + grad;
                bd[bo + i] = b;
                pd[po + i] = w - lr * (nesterov ? grad + momentum * b : b);
            }
        });
        stats.record(OpKind.OPTIMIZER, System.nanoTime() - t0, 0);
    }

    @Override
    public void close() {
        parallel.close();
        trimPool();
    }
}
