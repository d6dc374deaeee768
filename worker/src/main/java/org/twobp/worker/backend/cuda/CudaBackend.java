package org.twobp.worker.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
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
 * The CUDA backend: every {@link Backend} operation as a kernel of {@code src/main/cuda} (one
 * {@code .cu} per layer family) launched on a {@link Device}, GEMMs in cuBLAS or, when cuBLAS
 * does not load, in the project's own tiled kernel. Tensors live in device memory from a
 * {@link CachingAllocator}; the float32 tensors are the master copy, and {@link Precision} only
 * changes how GEMM operands are rounded (bf16 and fp16 with float32 accumulation).
 *
 * <p>Work is queued on the device's compute stream and runs asynchronously; calls that return
 * host data (copies to host, {@link #sumOfSquares}) wait for it, and {@link #synchronize()}
 * waits for everything. Per-operation device times come from events recorded around each
 * operation and are folded into {@link #stats()} at every synchronisation.
 *
 * <p>Token ids and targets arrive as host arrays; they are checked on the host (a kernel cannot
 * report a bad id) and copied to a device buffer before the kernel that reads them.
 *
 * <p>Convolutions are im2col (or col2im) kernels of {@code conv.cu} into a workspace tensor from
 * the same allocator, around batched GEMMs of this backend; batch norm and the channel bias are
 * one block per channel. These kernels are the fallback for when cuDNN is not loaded: cuDNN is
 * only detected ({@link Cudnn#probe()}), and no operation calls it.
 */
public final class CudaBackend implements Backend {

    private static final int BLOCK = 256;
    private static final int MAX_GRID = 8192;

    private final Device device;
    private final boolean ownsDevice;
    private final CachingAllocator allocator;
    private final MemoryTracker memory = new MemoryTracker();
    private final MemoryTracker reserved = new MemoryTracker();
    private final OpStats stats = new OpStats();
    private final Precision precision;
    private final GemmEngine blas;
    private final String gemmNote;
    private final boolean timeOps;
    private final List<long[]> pendingTimes = new ArrayList<>();
    private final List<OpKind> pendingKinds = new ArrayList<>();
    private final Map<FloatBuffer, ByteBuffer> pinned = new IdentityHashMap<>();
    private CachingAllocator.Block intScratch;
    private CachingAllocator.Block floatScratch;
    private CachingAllocator.Block halfScratchA;
    private CachingAllocator.Block halfScratchB;
    private boolean closed;

    /**
     * @param device     the device (this backend closes it when {@code ownsDevice})
     * @param precision  how GEMM operands are rounded
     * @param timeOps    record device time per operation with events (a few microseconds each)
     */
    public CudaBackend(Device device, boolean ownsDevice, Precision precision, boolean timeOps) {
        this.device = device;
        this.ownsDevice = ownsDevice;
        this.precision = precision;
        this.timeOps = timeOps;
        this.allocator = new CachingAllocator(device, device.computeCapability() == 0);
        GemmEngine b = device.blas();
        this.blas = b;
        if (b instanceof CublasGemm cublas) {
            cublas.setOperandConverter(this::toHalf);   // bf16/fp16 operands are converted by our kernel
        }
        if (b != null) {
            gemmNote = b.describe();
        } else {
            gemmNote = "own tiled kernel (cuBLAS not used: " + device.blasUnavailableReason() + ")"
                    + (precision == Precision.TF32 ? "; tf32 runs as fp32 there" : "");
            System.err.println("[twobp] GEMM falls back to the project's tiled CUDA kernel: "
                    + device.blasUnavailableReason());
        }
    }

    public Device device() {
        return device;
    }

    public Precision precision() {
        return precision;
    }

    /** Whether GEMMs run in cuBLAS (else in the project's own kernel). */
    public boolean usesLibraryGemm() {
        return blas != null;
    }

    @Override
    public String name() {
        return device.computeCapability() == 0 ? "cuda-emulated" : "cuda";
    }

    @Override
    public String describe() {
        return "cuda backend: " + device.describe() + "; precision " + precision.label() + "; GEMM " + gemmNote;
    }

    // ------------------------------------------------------------------ memory

    @Override
    public synchronized Tensor allocate(MemoryCategory category, int... shape) {
        int n = Tensor.sizeOf(shape);
        CachingAllocator.Block block = allocator.allocate(4L * n);
        memory.allocated(category, 4L * n);
        reserved.allocated(category, block.size());
        return Tensor.owning(new CudaStorage(block, n), category, shape);
    }

    @Override
    public synchronized void free(Tensor t) {
        CudaStorage s = storage(t);
        t.markFreed();
        memory.freed(t.category(), 4L * s.capacity());
        reserved.freed(t.category(), s.block.size());
        allocator.free(s.block);
    }

    @Override
    public synchronized void recategorize(Tensor t, MemoryCategory category) {
        if (t.category() == category) {
            return;
        }
        CudaStorage s = storage(t);
        memory.moved(t.category(), category, 4L * s.capacity());
        reserved.moved(t.category(), category, s.block.size());
        t.setCategory(category);
    }

    @Override
    public MemoryTracker memory() {
        return memory;
    }

    /** Rounded block bytes in use per category (reserved minus the cache). */
    public MemoryTracker reservedByCategory() {
        return reserved;
    }

    @Override
    public long reservedBytes() {
        return allocator.reservedBytes();
    }

    @Override
    public long peakReservedBytes() {
        return allocator.peakReservedBytes();
    }

    /** Bytes cached by the allocator for reuse. */
    public long cachedBytes() {
        return allocator.cachedBytes();
    }

    /** Calls to the driver's allocator so far; flat after the first step when the cache works. */
    public long driverAllocations() {
        return allocator.driverAllocations();
    }

    /** Returns cached blocks to the driver. */
    public long releaseCache() {
        return allocator.releaseCache();
    }

    @Override
    public OpStats stats() {
        return stats;
    }

    private static CudaStorage storage(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s)) {
            throw new IllegalArgumentException(t + " does not live in device memory");
        }
        return s;
    }

    /** Device address of element {@code offset} of {@code t}. */
    private static long ptr(Tensor t, long offset) {
        return storage(t).block.ptr() + 4L * (t.offset() + offset);
    }

    private static long ptr(Tensor t) {
        return ptr(t, 0);
    }

    /** The device address of a tensor's first element (for tests and device-level helpers). */
    long pointerOf(Tensor t) {
        return ptr(t);
    }

    @Override
    public void copyFromHost(float[] src, int srcOffset, Tensor dst) {
        if (srcOffset < 0 || srcOffset + dst.size() > src.length) {
            throw new IllegalArgumentException("host array of " + src.length + " floats has no " + dst.size()
                    + " elements at " + srcOffset + " for " + dst);
        }
        long t0 = System.nanoTime();
        device.copyHostToDevice(ptr(dst), src, srcOffset, dst.size());
        stats.record(OpKind.TRANSFER, System.nanoTime() - t0, 0);
    }

    @Override
    public void copyToHost(Tensor src, float[] dst, int dstOffset) {
        if (dstOffset < 0 || dstOffset + src.size() > dst.length) {
            throw new IllegalArgumentException("host array of " + dst.length + " floats has no room for " + src.size()
                    + " elements at " + dstOffset + " from " + src);
        }
        long t0 = System.nanoTime();
        device.copyDeviceToHost(dst, dstOffset, ptr(src), src.size());
        stats.record(OpKind.TRANSFER, System.nanoTime() - t0, 0);
    }

    @Override
    public synchronized FloatBuffer allocateTransferBuffer(int floats) {
        ByteBuffer b = device.allocatePinned(Math.multiplyExact(floats, Float.BYTES));
        FloatBuffer f = b.asFloatBuffer();
        pinned.put(f, b);
        return f;
    }

    @Override
    public synchronized void freeTransferBuffer(FloatBuffer buffer) {
        ByteBuffer b = pinned.remove(buffer);
        if (b != null) {
            device.freePinned(b);
        }
    }

    /** The byte view of a transfer buffer: the pinned one when it came from here, else a direct one. */
    private synchronized ByteBuffer bytes(FloatBuffer f) {
        ByteBuffer b = pinned.get(f);
        if (b == null) {
            throw new IllegalArgumentException("transfer buffers of the CUDA backend come from allocateTransferBuffer");
        }
        return b;
    }

    /**
     * Device to the (pinned) send buffer on the copy stream, after the compute work queued so
     * far; returns when the bytes are in the buffer, while the compute stream keeps running.
     */
    @Override
    public void copyToBuffer(Tensor src, FloatBuffer dst) {
        long t0 = System.nanoTime();
        device.copyDeviceToHostAsync(bytes(dst), ptr(src), 4L * src.size());
        device.synchronizeCopies();
        stats.record(OpKind.TRANSFER, System.nanoTime() - t0, 0);
    }

    /** Receive buffer to the device on the copy stream; later kernels wait for it, the host does not. */
    @Override
    public void copyFromBuffer(FloatBuffer src, Tensor dst) {
        long t0 = System.nanoTime();
        device.copyHostToDeviceAsync(ptr(dst), bytes(src), 4L * dst.size());
        device.synchronizeCopies();
        stats.record(OpKind.TRANSFER, System.nanoTime() - t0, 0);
    }

    @Override
    public void synchronize() {
        device.synchronize();
        foldTimes();
    }

    // ------------------------------------------------------------------ timing

    private long[] begin() {
        if (!timeOps) {
            return null;
        }
        return new long[] {device.recordEvent(), 0};
    }

    private void end(OpKind kind, long[] t, long flops) {
        stats.record(kind, 0, flops);           // device time follows at the next synchronisation
        if (t == null) {
            return;
        }
        t[1] = device.recordEvent();
        synchronized (pendingTimes) {
            pendingTimes.add(t);
            pendingKinds.add(kind);
            if (pendingTimes.size() >= 4096) {
                foldTimes();
            }
        }
    }

    /** Turns the recorded event pairs into nanoseconds per kind. */
    private void foldTimes() {
        synchronized (pendingTimes) {
            for (int i = 0; i < pendingTimes.size(); i++) {
                long[] t = pendingTimes.get(i);
                float ms = device.elapsedMillis(t[0], t[1]);
                device.destroyEvent(t[0]);
                device.destroyEvent(t[1]);
                stats.record(pendingKinds.get(i), (long) (ms * 1e6), 0);
            }
            pendingTimes.clear();
            pendingKinds.clear();
        }
    }

    // ------------------------------------------------------------------ launches

    private static int gridFor(long n, int block) {
        return (int) Math.max(1, Math.min(MAX_GRID, (n + block - 1) / block));
    }

    private void launch1d(String kernel, long n, KernelArgs args) {
        if (n == 0) {
            return;
        }
        device.launch(kernel, gridFor(n, BLOCK), 1, 1, BLOCK, 1, 1, 0, args);
    }

    /** One block per row, sized to the row length (whole warps, at most 256 threads). */
    private void launchRows(String kernel, int rows, int cols, KernelArgs args) {
        if (rows == 0) {
            return;
        }
        int block = cols <= 32 ? 32 : cols <= 64 ? 64 : cols <= 128 ? 128 : 256;
        device.launch(kernel, rows, 1, 1, block, 1, 1, 0, args);
    }

    /** Column sums: blocks of 32 x 8 threads, one block per 32 columns. */
    private void launchColumns(String kernel, int cols, KernelArgs args) {
        if (cols == 0) {
            return;
        }
        device.launch(kernel, (cols + 31) / 32, 1, 1, 32, 8, 1, 0, args);
    }


    private synchronized long scratch(boolean ints, long bytes) {
        if (ints) {
            intScratch = ensure(intScratch, bytes, 4096);
            return intScratch.ptr();
        }
        floatScratch = ensure(floatScratch, bytes, 4096);
        return floatScratch.ptr();
    }

    /** {@code current} when it holds {@code bytes}, else a new block (at least {@code minimum}) in its place. */
    private CachingAllocator.Block ensure(CachingAllocator.Block current, long bytes, long minimum) {
        if (current != null && current.size() >= bytes) {
            return current;
        }
        if (current != null) {
            device.synchronize();          // queued kernels may still read the old buffer
            allocator.free(current);
        }
        return allocator.allocate(Math.max(bytes, minimum));
    }

    /** Copies ids [offset, offset+rows) to the device after checking them against [lo, limit). */
    private long deviceIds(int[] ids, int offset, int rows, int lo, int limit, String what) {
        if (offset < 0 || offset + rows > ids.length) {
            throw new IllegalArgumentException(what + " array of " + ids.length + " has no " + rows + " entries at " + offset);
        }
        for (int r = 0; r < rows; r++) {
            int id = ids[offset + r];
            if (id >= limit || id < lo) {
                throw new IllegalArgumentException(what + " id " + id + " at position " + r + " is outside [" + lo + ", "
                        + limit + ")");
            }
        }
        long p = scratch(true, 4L * rows);
        device.copyHostToDevice(p, ids, offset, rows);
        return p;
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
        long[] t = begin();
        long pa = ptr(a, offA);
        long pb = ptr(b, offB);
        long pc = ptr(c, offC);
        if (blas != null) {
            blas.gemm(transA, transB, m, n, k, alpha, pa, lda, strideA, pb, ldb, strideB, beta, pc, ldc, strideC, batch,
                    precision);
        } else {
            tiledGemm(transA, transB, m, n, k, alpha, pa, lda, strideA, pb, ldb, strideB, beta, pc, ldc, strideC, batch,
                    precision);
        }
        end(OpKind.GEMM, t, 2L * m * n * k * batch);
    }

    /** The project's own GEMM kernel (also what tests compare cuBLAS against). */
    void tiledGemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long strideA,
                   long b, int ldb, long strideB, float beta, long c, int ldc, long strideC, int batch, Precision p) {
        if (batch > 65535) {
            throw new IllegalArgumentException("the tiled GEMM runs at most 65535 products per launch, not " + batch);
        }
        int rounding = p == Precision.BF16 ? 1 : p == Precision.FP16 ? 2 : 0;
        device.launch("gemm_f32", (n + 63) / 64, (m + 63) / 64, batch, 16, 16, 1, 0,
                KernelArgs.of().i(transA ? 1 : 0).i(transB ? 1 : 0).i(m).i(n).i(k).f(alpha)
                        .ptr(a).i(lda).i(Math.toIntExact(strideA)).ptr(b).i(ldb).i(Math.toIntExact(strideB))
                        .f(beta).ptr(c).i(ldc).i(Math.toIntExact(strideC)).i(rounding));
    }

    /**
     * A contiguous 16-bit copy of {@code batch} matrices of rows x cols (row stride ld, batch
     * stride), for cuBLAS's bf16/fp16 GEMMs. {@code second} picks one of two buffers so that both
     * operands of a product can be converted.
     */
    synchronized long toHalf(long src, int rows, int cols, int ld, long stride, int batch, boolean bf16, boolean second) {
        long bytes = 2L * rows * cols * batch;
        CachingAllocator.Block blk;
        if (second) {
            blk = halfScratchB = ensure(halfScratchB, bytes, 1 << 20);
        } else {
            blk = halfScratchA = ensure(halfScratchA, bytes, 1 << 20);
        }
        launch1d(bf16 ? "convert_to_bf16" : "convert_to_f16", (long) rows * cols * batch,
                KernelArgs.of().ptr(src).i(rows).i(cols).i(ld).i(Math.toIntExact(stride)).i(batch).ptr(blk.ptr()));
        return blk.ptr();
    }


    // ------------------------------------------------------------------ elementwise

    @Override
    public void fill(Tensor t, float value) {
        long[] tm = begin();
        if (t.size() > 0) {
            device.memset32(ptr(t), Float.floatToRawIntBits(value), t.size());
        }
        end(OpKind.ELEMENTWISE, tm, 0);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        Shapes.sameSize(src, dst);
        long[] tm = begin();
        if (src.size() > 0) {
            device.copyDeviceToDevice(ptr(dst), ptr(src), 4L * src.size());
        }
        end(OpKind.ELEMENTWISE, tm, 0);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        Shapes.sameSize(a, b);
        Shapes.sameSize(a, out);
        long[] tm = begin();
        launch1d("add_f32", a.size(), KernelArgs.of().ptr(ptr(a)).ptr(ptr(b)).ptr(ptr(out)).i(a.size()));
        end(OpKind.ELEMENTWISE, tm, 0);
    }

    @Override
    public void scale(Tensor t, float s) {
        long[] tm = begin();
        launch1d("scale_f32", t.size(), KernelArgs.of().ptr(ptr(t)).f(s).i(t.size()));
        end(OpKind.ELEMENTWISE, tm, 0);
    }

    @Override
    public double sumOfSquares(Tensor t) {
        int n = t.size();
        if (n == 0) {
            return 0;
        }
        int grid = Math.min(1024, gridFor(n, BLOCK));
        long partial;
        float[] host = new float[grid];
        synchronized (this) {
            partial = scratch(false, 4L * grid);
            long[] tm = begin();
            device.launch("sum_squares_partial", grid, 1, 1, BLOCK, 1, 1, 0, KernelArgs.of().ptr(ptr(t)).i(n).ptr(partial));
            end(OpKind.OPTIMIZER, tm, 0);
            device.copyDeviceToHost(host, 0, partial, grid);
        }
        double total = 0;
        for (float p : host) {
            total += p;
        }
        return total;
    }

    @Override
    public void addRowVector(Tensor y, Tensor bias) {
        int cols = bias.size();
        if (cols == 0 || y.size() % cols != 0) {
            throw new IllegalArgumentException("cannot add a row vector of " + cols + " to " + y);
        }
        long[] tm = begin();
        launch1d("add_row_vector", y.size(), KernelArgs.of().ptr(ptr(y)).ptr(ptr(bias)).i(y.size() / cols).i(cols));
        end(OpKind.ELEMENTWISE, tm, 0);
    }

    @Override
    public void sumRows(Tensor dy, Tensor dbias) {
        int cols = dbias.size();
        if (cols == 0 || dy.size() % cols != 0) {
            throw new IllegalArgumentException("cannot sum rows of " + dy + " into " + cols + " columns");
        }
        long[] tm = begin();
        launchColumns("sum_rows", cols, KernelArgs.of().ptr(ptr(dy)).ptr(ptr(dbias)).i(dy.size() / cols).i(cols));
        end(OpKind.ELEMENTWISE, tm, 0);
    }

    /** Rows of different strides: {@code dst[r, :cols] = src[r, :cols]} (for concatenations and slices). */
    public void copy2d(Tensor src, int srcOffset, int ldSrc, Tensor dst, int dstOffset, int ldDst, int rows, int cols) {
        long[] tm = begin();
        launch1d("copy_2d", (long) rows * cols, KernelArgs.of().ptr(ptr(src, srcOffset)).i(ldSrc)
                .ptr(ptr(dst, dstOffset)).i(ldDst).i(rows).i(cols));
        end(OpKind.ELEMENTWISE, tm, 0);
    }

    /** Rounds every element to the nearest bfloat16 value, in place. */
    public void roundToBf16(Tensor t) {
        launch1d("round_to_bf16", t.size(), KernelArgs.of().ptr(ptr(t)).i(t.size()));
    }

    // ------------------------------------------------------------------ norms

    @Override
    public void rmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        int c = weight.size();
        int rows = x.size() / c;
        Shapes.sameSize(x, out);
        long[] tm = begin();
        launchRows("rmsnorm_forward", rows, c, KernelArgs.of().ptr(ptr(x)).ptr(ptr(weight)).f(eps).ptr(ptr(out))
                .ptr(ptr(rstd)).i(rows).i(c));
        end(OpKind.NORM, tm, 0);
    }

    @Override
    public void rmsNormBackwardInput(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx) {
        int c = weight.size();
        int rows = x.size() / c;
        long[] tm = begin();
        launchRows("rmsnorm_backward_input", rows, c, KernelArgs.of().ptr(ptr(dout)).ptr(ptr(x)).ptr(ptr(weight))
                .ptr(ptr(rstd)).ptr(ptr(dx)).i(rows).i(c));
        end(OpKind.NORM, tm, 0);
    }

    @Override
    public void rmsNormBackwardWeight(Tensor dout, Tensor x, Tensor rstd, Tensor dweight) {
        int c = dweight.size();
        int rows = x.size() / c;
        long[] tm = begin();
        launchColumns("rmsnorm_backward_weight", c, KernelArgs.of().ptr(ptr(dout)).ptr(ptr(x)).ptr(ptr(rstd))
                .ptr(ptr(dweight)).i(rows).i(c));
        end(OpKind.NORM, tm, 0);
    }

    @Override
    public void layerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd) {
        int c = weight.size();
        int rows = x.size() / c;
        Shapes.sameSize(x, out);
        long[] tm = begin();
        launchRows("layernorm_forward", rows, c, KernelArgs.of().ptr(ptr(x)).ptr(ptr(weight)).ptr(ptr(bias)).f(eps)
                .ptr(ptr(out)).ptr(ptr(mean)).ptr(ptr(rstd)).i(rows).i(c));
        end(OpKind.NORM, tm, 0);
    }

    @Override
    public void layerNormBackwardInput(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor dx) {
        int c = weight.size();
        int rows = x.size() / c;
        long[] tm = begin();
        launchRows("layernorm_backward_input", rows, c, KernelArgs.of().ptr(ptr(dout)).ptr(ptr(x)).ptr(ptr(weight))
                .ptr(ptr(mean)).ptr(ptr(rstd)).ptr(ptr(dx)).i(rows).i(c));
        end(OpKind.NORM, tm, 0);
    }

    @Override
    public void layerNormBackwardWeight(Tensor dout, Tensor x, Tensor mean, Tensor rstd, Tensor dweight, Tensor dbias) {
        int c = dweight.size();
        int rows = x.size() / c;
        long[] tm = begin();
        launchColumns("layernorm_backward_weight", c, KernelArgs.of().ptr(ptr(dout)).ptr(ptr(x)).ptr(ptr(mean))
                .ptr(ptr(rstd)).ptr(ptr(dweight)).ptr(ptr(dbias)).i(rows).i(c));
        end(OpKind.NORM, tm, 0);
    }

    // ------------------------------------------------------------------ convolution
    // The project's kernels, the fallback for when cuDNN is not loaded (see the class comment).

    /**
     * Column matrices of a chunk of images take at most this many floats (128 MiB by default):
     * enough for one batched GEMM over many small images, bounded for large ones.
     */
    private long convWorkspaceFloats = 1L << 25;

    /** Sets the bound of {@link #convWorkspaceFloats}; tests make it small to run several chunks. */
    void setConvWorkspaceFloats(long floats) {
        convWorkspaceFloats = floats;
    }

    /** Images whose column matrices fit the workspace (at least one; the tiled GEMM's batch limit). */
    private int imagesPerChunk(ConvShape s) {
        long perImage = (long) s.colRows() * s.colCols();
        return (int) Math.max(1, Math.min(Math.min(s.batch(), 65535), convWorkspaceFloats / perImage));
    }

    /** The column matrices of {@code images} images of x starting at image {@code n0}. */
    private void im2col(ConvShape s, Tensor x, int n0, int images, Tensor col) {
        long[] tm = begin();
        launch1d("im2col", (long) images * s.colRows() * s.colCols(), KernelArgs.of()
                .ptr(ptr(x, (long) n0 * s.imageSize())).ptr(ptr(col)).i(images).i(s.channels()).i(s.height())
                .i(s.width()).i(s.kernelH()).i(s.kernelW()).i(s.stride()).i(s.pad()).i(s.outHeight())
                .i(s.outWidth()));
        end(OpKind.CONV, tm, 0);
    }

    @Override
    public void conv2dForward(ConvShape s, Tensor x, Tensor w, Tensor y) {
        s.check("conv2dForward", x, w, y);
        int k = s.colRows();
        int p = s.colCols();
        int chunk = imagesPerChunk(s);
        Tensor col = allocate(MemoryCategory.WORKSPACE, chunk * k, p);
        try {
            for (int n0 = 0; n0 < s.batch(); n0 += chunk) {
                int m = Math.min(chunk, s.batch() - n0);
                im2col(s, x, n0, m, col);
                gemmStridedBatched(false, false, s.filters(), p, k, 1f, w, 0, k, 0, col, 0, p, k * p, 0f, y,
                        n0 * s.outImageSize(), p, s.outImageSize(), m);
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
        int chunk = imagesPerChunk(s);
        Tensor col = allocate(MemoryCategory.WORKSPACE, chunk * k, p);
        try {
            for (int n0 = 0; n0 < s.batch(); n0 += chunk) {
                int m = Math.min(chunk, s.batch() - n0);
                gemmStridedBatched(true, false, k, p, s.filters(), 1f, w, 0, k, 0, dy, n0 * s.outImageSize(), p,
                        s.outImageSize(), 0f, col, 0, p, k * p, m);
                long[] tm = begin();
                launch1d("col2im", (long) m * s.imageSize(), KernelArgs.of().ptr(ptr(col))
                        .ptr(ptr(dx, (long) n0 * s.imageSize())).i(m).i(s.channels()).i(s.height()).i(s.width())
                        .i(s.kernelH()).i(s.kernelW()).i(s.stride()).i(s.pad()).i(s.outHeight()).i(s.outWidth()));
                end(OpKind.CONV, tm, 0);
            }
        } finally {
            free(col);
        }
    }

    /** One GEMM per image with beta = 1: a batched GEMM may not write one output from several products. */
    @Override
    public void conv2dBackwardWeight(ConvShape s, Tensor dy, Tensor x, Tensor dw) {
        s.check("conv2dBackwardWeight", x, dw, dy);
        int k = s.colRows();
        int p = s.colCols();
        int chunk = imagesPerChunk(s);
        Tensor col = allocate(MemoryCategory.WORKSPACE, chunk * k, p);
        try {
            for (int n0 = 0; n0 < s.batch(); n0 += chunk) {
                int m = Math.min(chunk, s.batch() - n0);
                im2col(s, x, n0, m, col);
                for (int i = 0; i < m; i++) {
                    gemm(false, true, s.filters(), k, p, 1f, dy, (n0 + i) * s.outImageSize(), p, col, i * k * p, p, 1f,
                            dw, 0, k);
                }
            }
        } finally {
            free(col);
        }
    }

    /** One block of {@link #BLOCK} threads per channel, for the per-channel reductions. */
    private void launchChannels(String kernel, int channels, KernelArgs args) {
        device.launch(kernel, channels, 1, 1, BLOCK, 1, 1, 0, args);
    }

    @Override
    public void addChannelBias(Tensor y, Tensor bias, int batch, int channels, int spatial) {
        ConvShape.checkActivation("addChannelBias", batch, channels, spatial, y);
        ConvShape.checkPerChannel("addChannelBias", channels, bias);
        long[] tm = begin();
        launch1d("add_channel_bias", y.size(), KernelArgs.of().ptr(ptr(y)).ptr(ptr(bias)).i(batch).i(channels)
                .i(spatial));
        end(OpKind.ELEMENTWISE, tm, 0);
    }

    @Override
    public void sumChannels(Tensor dy, Tensor dbias, int batch, int channels, int spatial) {
        ConvShape.checkActivation("sumChannels", batch, channels, spatial, dy);
        ConvShape.checkPerChannel("sumChannels", channels, dbias);
        long[] tm = begin();
        launchChannels("sum_channels", channels, KernelArgs.of().ptr(ptr(dy)).ptr(ptr(dbias)).i(batch).i(channels)
                .i(spatial));
        end(OpKind.ELEMENTWISE, tm, 0);
    }

    // ------------------------------------------------------------------ batch norm


    @Override
    public void batchNormForward(Tensor x, Tensor gamma, Tensor beta, float eps, int batch, int channels, int spatial,
                                 Tensor out, Tensor mean, Tensor rstd) {
        ConvShape.checkBatchNorm("batchNormForward", batch, channels, spatial, new Tensor[] {x, out},
                new Tensor[] {gamma, beta, mean, rstd});
        long[] tm = begin();
        launchChannels("batchnorm_forward", channels, KernelArgs.of().ptr(ptr(x)).ptr(ptr(gamma)).ptr(ptr(beta)).f(eps)
                .ptr(ptr(out)).ptr(ptr(mean)).ptr(ptr(rstd)).i(batch).i(channels).i(spatial));
        end(OpKind.NORM, tm, 0);
    }

    @Override
    public void batchNormBackwardInput(Tensor dout, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, int batch,
                                       int channels, int spatial, Tensor dx) {
        ConvShape.checkBatchNorm("batchNormBackwardInput", batch, channels, spatial, new Tensor[] {dout, x, dx},
                new Tensor[] {gamma, mean, rstd});
        long[] tm = begin();
        launchChannels("batchnorm_backward_input", channels, KernelArgs.of().ptr(ptr(dout)).ptr(ptr(x))
                .ptr(ptr(gamma)).ptr(ptr(mean)).ptr(ptr(rstd)).ptr(ptr(dx)).i(batch).i(channels).i(spatial));
        end(OpKind.NORM, tm, 0);
    }

    @Override
    public void batchNormBackwardWeight(Tensor dout, Tensor x, Tensor mean, Tensor rstd, int batch, int channels,
                                        int spatial, Tensor dgamma, Tensor dbeta) {
        ConvShape.checkBatchNorm("batchNormBackwardWeight", batch, channels, spatial, new Tensor[] {dout, x},
                new Tensor[] {mean, rstd, dgamma, dbeta});
        long[] tm = begin();
        launchChannels("batchnorm_backward_weight", channels, KernelArgs.of().ptr(ptr(dout)).ptr(ptr(x))
                .ptr(ptr(mean)).ptr(ptr(rstd)).ptr(ptr(dgamma)).ptr(ptr(dbeta)).i(batch).i(channels).i(spatial));
        end(OpKind.NORM, tm, 0);
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
        if (rows > 0 && (long) (rows - 1) * ld + col + (long) heads * headDim > x.size()) {
            throw new IllegalArgumentException("RoPE over " + rows + " rows of " + heads + " heads at column " + col
                    + " (row length " + ld + ") does not fit " + x);
        }
        long[] tm = begin();
        launch1d("rope", (long) rows * heads * half, KernelArgs.of().ptr(ptr(x)).i(col).i(ld).i(rows).i(seqLen)
                .i(heads).i(headDim).ptr(ptr(cosSin)).f(inverse ? -1f : 1f));
        end(OpKind.ROPE, tm, 0);
    }

    @Override
    public void causalSoftmaxForward(Tensor scores, int matrices, int t, float scale) {
        long[] tm = begin();
        launchRows("causal_softmax_forward", matrices * t, t, KernelArgs.of().ptr(ptr(scores)).i(matrices * t).i(t)
                .f(scale));
        end(OpKind.ATTENTION_SOFTMAX, tm, 0);
    }

    @Override
    public void causalSoftmaxBackward(Tensor probs, Tensor dprobs, int matrices, int t, float scale) {
        long[] tm = begin();
        launchRows("causal_softmax_backward", matrices * t, t, KernelArgs.of().ptr(ptr(probs)).ptr(ptr(dprobs))
                .i(matrices * t).i(t).f(scale));
        end(OpKind.ATTENTION_SOFTMAX, tm, 0);
    }

    // ------------------------------------------------------------------ activations

    @Override
    public void swigluForward(Tensor gateUp, Tensor out) {
        if (gateUp.size() != 2 * out.size()) {
            throw new IllegalArgumentException("SwiGLU needs gate-and-up [N, 2F] for out [N, F]: " + gateUp + ", " + out);
        }
        long[] tm = begin();
        launch1d("swiglu_forward", out.size(), KernelArgs.of().ptr(ptr(gateUp)).ptr(ptr(out)).i(out.rows()).i(out.cols()));
        end(OpKind.ACTIVATION, tm, 0);
    }

    @Override
    public void swigluBackward(Tensor dout, Tensor gateUp, Tensor dGateUp) {
        Shapes.sameSize(gateUp, dGateUp);
        long[] tm = begin();
        launch1d("swiglu_backward", dout.size(), KernelArgs.of().ptr(ptr(dout)).ptr(ptr(gateUp)).ptr(ptr(dGateUp))
                .i(dout.rows()).i(dout.cols()));
        end(OpKind.ACTIVATION, tm, 0);
    }

    @Override
    public void geluForward(Tensor x, Tensor out) {
        Shapes.sameSize(x, out);
        long[] tm = begin();
        launch1d("gelu_forward", x.size(), KernelArgs.of().ptr(ptr(x)).ptr(ptr(out)).i(x.size()));
        end(OpKind.ACTIVATION, tm, 0);
    }

    @Override
    public void geluBackward(Tensor dout, Tensor x, Tensor dx) {
        Shapes.sameSize(x, dx);
        long[] tm = begin();
        launch1d("gelu_backward", x.size(), KernelArgs.of().ptr(ptr(dout)).ptr(ptr(x)).ptr(ptr(dx)).i(x.size()));
        end(OpKind.ACTIVATION, tm, 0);
    }

    // ------------------------------------------------------------------ embedding and loss

    @Override
    public synchronized void embeddingForward(Tensor table, int[] tokens, int offset, Tensor out) {
        int c = table.cols();
        int rows = out.size() / c;
        long ids = deviceIds(tokens, offset, rows, 0, table.rows(), "token");
        long[] tm = begin();
        launch1d("embedding_forward", (long) rows * c, KernelArgs.of().ptr(ptr(table)).ptr(ids).ptr(ptr(out)).i(rows).i(c));
        end(OpKind.EMBEDDING, tm, 0);
    }

    @Override
    public synchronized void embeddingBackward(Tensor dout, int[] tokens, int offset, Tensor dtable) {
        int c = dtable.cols();
        int rows = dout.size() / c;
        long ids = deviceIds(tokens, offset, rows, 0, dtable.rows(), "token");
        long[] tm = begin();
        device.launch("embedding_backward", (c + 127) / 128, 1, 1, 128, 1, 1, 0,
                KernelArgs.of().ptr(ptr(dout)).ptr(ids).ptr(ptr(dtable)).i(rows).i(c));
        end(OpKind.EMBEDDING, tm, 0);
    }

    @Override
    public synchronized void crossEntropyForward(Tensor logits, int[] targets, int offset, Tensor losses, Tensor correct) {
        int v = logits.cols();
        int rows = logits.rows();
        long ids = deviceIds(targets, offset, rows, Integer.MIN_VALUE, v, "target");
        long[] tm = begin();
        launchRows("cross_entropy_forward", rows, v, KernelArgs.of().ptr(ptr(logits)).ptr(ids).ptr(ptr(losses))
                .ptr(ptr(correct)).i(rows).i(v));
        end(OpKind.CROSS_ENTROPY, tm, 0);
    }

    @Override
    public synchronized void crossEntropyBackward(Tensor probs, int[] targets, int offset, float scale) {
        int v = probs.cols();
        int rows = probs.rows();
        long ids = deviceIds(targets, offset, rows, Integer.MIN_VALUE, v, "target");
        long[] tm = begin();
        launchRows("cross_entropy_backward", rows, v, KernelArgs.of().ptr(ptr(probs)).ptr(ids).i(rows).i(v).f(scale));
        end(OpKind.CROSS_ENTROPY, tm, 0);
    }

    // ------------------------------------------------------------------ optimizer

    @Override
    public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                      float weightDecay, float gradScale, int step) {
        Shapes.sameSize(p, g);
        Shapes.sameSize(p, m);
        Shapes.sameSize(p, v);
        float bc1 = (float) (1.0 - Math.pow(beta1, step));
        float bc2 = (float) (1.0 - Math.pow(beta2, step));
        long[] tm = begin();
        launch1d("adamw", p.size(), KernelArgs.of().ptr(ptr(p)).ptr(ptr(g)).ptr(ptr(m)).ptr(ptr(v)).f(lr).f(beta1)
                .f(beta2).f(eps).f(weightDecay).f(gradScale).f(bc1).f(bc2).i(p.size()));
        end(OpKind.OPTIMIZER, tm, 0);
    }

    @Override
    public void sgd(Tensor p, Tensor g, Tensor buf, float lr, float momentum, float weightDecay, float gradScale,
                    boolean nesterov) {
        Shapes.sameSize(p, g);
        Shapes.sameSize(p, buf);
        long[] tm = begin();
        launch1d("sgd", p.size(), KernelArgs.of().ptr(ptr(p)).ptr(ptr(g)).ptr(ptr(buf)).f(lr).f(momentum)
                .f(weightDecay).f(gradScale).i(nesterov ? 1 : 0).i(p.size()));
        end(OpKind.OPTIMIZER, tm, 0);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            device.synchronize();
            foldTimes();
            for (CachingAllocator.Block b : new CachingAllocator.Block[] {intScratch, floatScratch, halfScratchA,
                    halfScratchB}) {
                if (b != null) {
                    allocator.free(b);
                }
            }
            for (ByteBuffer b : pinned.values()) {
                device.freePinned(b);
            }
            pinned.clear();
            allocator.releaseCache();
        } finally {
            if (ownsDevice) {
                device.close();
            }
        }
    }
}
