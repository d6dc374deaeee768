package org.twobp.worker.backend.cuda.emu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.twobp.worker.backend.cuda.DeviceOutOfMemoryException;
import org.twobp.worker.backend.cuda.KernelArgs;

/** Runs the emulator's self-test kernels (src/main/cuda/emulator/selftest.cu) against results computed here. */
class EmulatorTest {

    private final List<Long> buffers = new ArrayList<>();

    @BeforeAll
    static void library() {
        assertTrue(EmulatorNative.available(), () -> "CUDA emulator library: " + EmulatorNative.unavailableReason());
    }

    @AfterEach
    void freeBuffers() {
        for (long p : buffers) {
            EmulatorNative.free(p);
        }
        buffers.clear();
    }

    private long floats(float[] values) {
        long p = EmulatorNative.malloc(4L * values.length);
        buffers.add(p);
        EmulatorNative.copyFromFloats(p, values, 0, values.length);
        return p;
    }

    private long ints(int[] values) {
        long p = EmulatorNative.malloc(4L * values.length);
        buffers.add(p);
        EmulatorNative.copyFromInts(p, values, 0, values.length);
        return p;
    }

    private long zeros(int words) {
        return ints(new int[words]);
    }

    private static float[] readFloats(long p, int n) {
        float[] r = new float[n];
        EmulatorNative.copyToFloats(p, r, 0, n);
        return r;
    }

    private static int[] readInts(long p, int n) {
        int[] r = new int[n];
        EmulatorNative.copyToInts(p, r, 0, n);
        return r;
    }

    private static float[] random(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] r = new float[n];
        for (int i = 0; i < n; i++) {
            r[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return r;
    }

    @Test
    void registersTheSelfTestKernelsWithTheirSignatures() {
        List<String> names = Arrays.asList(EmulatorNative.kernels());
        for (String k : List.of("emu_block_reduce", "emu_shuffles", "emu_atomics", "emu_index", "emu_sync_loop",
                "emu_out_of_bounds", "emu_deadlock", "emu_args", "emu_gemm_tiled")) {
            assertTrue(names.contains(k), k + " missing from " + names);
        }
        assertEquals("PIPFUPF", EmulatorNative.signature("emu_args"));
        assertEquals("PPPPPPI", EmulatorNative.signature("emu_atomics"));
        assertNull(EmulatorNative.signature("no_such_kernel"));
    }

    @Test
    void blockSumAndMaxGiveEveryThreadTheBlockResult() {
        int n = 3000;
        for (int threads : new int[] {32, 64, 96, 128, 256, 512, 1024}) {
            int blocks = 3;
            float[] x = random(blocks * n, threads);
            long px = floats(x);
            long sums = zeros(blocks * threads);
            long maxes = zeros(blocks * threads);
            EmulatorNative.launch("emu_block_reduce", blocks, 1, 1, threads, 1, 1,
                    KernelArgs.of().ptr(px).ptr(sums).ptr(maxes).i(n));
            float[] s = readFloats(sums, blocks * threads);
            float[] m = readFloats(maxes, blocks * threads);
            for (int b = 0; b < blocks; b++) {
                double want = 0;
                float max = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) {
                    want += x[b * n + i];
                    max = Math.max(max, x[b * n + i]);
                }
                for (int t = 0; t < threads; t++) {
                    assertEquals(want, s[b * threads + t], 1e-4, "sum, " + threads + " threads, block " + b + " thread " + t);
                    assertEquals(max, m[b * threads + t], "max, " + threads + " threads, block " + b + " thread " + t);
                }
            }
        }
    }

    @Test
    void shufflesFollowCudaSemantics() {
        int blocks = 2;
        int threads = 64;
        int total = blocks * threads;
        float[] x = random(total, 7);
        int[][] cases = {{1, 1, 0, 32}, {16, 5, 3, 32}, {31, 31, 30, 32}, {3, 2, 9, 8}, {12, 3, 1, 16}, {1, 1, 5, 2}};
        for (int[] c : cases) {
            int laneMask = c[0];
            int delta = c[1];
            int src = c[2];
            int width = c[3];
            String what = "laneMask " + laneMask + ", delta " + delta + ", src " + src + ", width " + width;
            long px = floats(x);
            long out = zeros(4 * total);
            long iout = zeros(2 * total);
            long uout = zeros(total);
            EmulatorNative.launch("emu_shuffles", blocks, 1, 1, threads, 1, 1, KernelArgs.of().ptr(px).ptr(out)
                    .ptr(iout).ptr(uout).i(laneMask).i(delta).i(src).i(width));
            float[] o = readFloats(out, 4 * total);
            int[] io = readInts(iout, 2 * total);
            int[] uo = readInts(uout, total);
            for (int i = 0; i < total; i++) {
                int lane = i & 31;
                int warpBase = i - lane;
                int segment = lane & ~(width - 1);
                int xor = lane ^ laneMask;
                int xorSrc = xor >= segment + width ? lane : xor;
                int downSrc = (lane & (width - 1)) + delta >= width ? lane : lane + delta;
                int upSrc = (lane & (width - 1)) < delta ? lane : lane - delta;
                int idxSrc = segment + ((lane * 7 + src) & (width - 1));
                assertEquals(x[warpBase + xorSrc], o[4 * i], "xor, thread " + i + ", " + what);
                assertEquals(x[warpBase + downSrc], o[4 * i + 1], "down, thread " + i + ", " + what);
                assertEquals(x[warpBase + upSrc], o[4 * i + 2], "up, thread " + i + ", " + what);
                assertEquals(x[warpBase + idxSrc], o[4 * i + 3], "indexed, thread " + i + ", " + what);
                assertEquals((warpBase + xorSrc) * 3 - 100, io[2 * i], "int xor, thread " + i + ", " + what);
                int ballot = 0;
                for (int l = 0; l < 32; l++) {
                    if (x[warpBase + l] > 0) {
                        ballot |= 1 << l;
                    }
                }
                assertEquals(ballot, io[2 * i + 1], "ballot, thread " + i);
                assertEquals((warpBase + downSrc) * (int) 2654435761L, uo[i], "unsigned down, thread " + i + ", " + what);
            }
        }
    }

    @Test
    void atomicsFromManyBlocksAddUp() {
        int n = 100_000;
        SplittableRandom rng = new SplittableRandom(3);
        float[] x = new float[n];
        long sum = 0;
        int max = Integer.MIN_VALUE;
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextInt(-50, 200);
            sum += (long) x[i];
            max = Math.max(max, (int) x[i]);
        }
        long px = floats(x);
        long total = zeros(1);
        long count = zeros(1);
        long maxv = ints(new int[] {Integer.MIN_VALUE});
        long slot = ints(new int[] {-7});
        long taken = zeros(1);
        EmulatorNative.launch("emu_atomics", 37, 1, 1, 128, 1, 1,
                KernelArgs.of().ptr(px).ptr(total).ptr(count).ptr(maxv).ptr(slot).ptr(taken).i(n));
        assertEquals((float) sum, readFloats(total, 1)[0]);  // integers well below 2^24: exact in any order
        assertEquals(n, readInts(count, 1)[0]);
        assertEquals(max, readInts(maxv, 1)[0]);
        long indexSum = (long) n * (n - 1) / 2;
        assertEquals((int) (-7 + indexSum), readInts(taken, 1)[0] + readInts(slot, 1)[0]);
    }

    @Test
    void indicesOfTwoAndThreeDimensionalLaunches() {
        int[][] shapes = {{3, 2, 1, 16, 4, 1}, {2, 3, 2, 8, 2, 3}, {1, 1, 1, 1024, 1, 1}, {5, 1, 1, 1, 1, 1}};
        for (int[] s : shapes) {
            int blocks = s[0] * s[1] * s[2];
            int threads = s[3] * s[4] * s[5];
            long out = zeros(8 * blocks * threads);
            EmulatorNative.launch("emu_index", s[0], s[1], s[2], s[3], s[4], s[5], KernelArgs.of().ptr(out));
            int[] o = readInts(out, 8 * blocks * threads);
            int i = 0;
            for (int bz = 0; bz < s[2]; bz++) {
                for (int by = 0; by < s[1]; by++) {
                    for (int bx = 0; bx < s[0]; bx++) {
                        for (int tz = 0; tz < s[5]; tz++) {
                            for (int ty = 0; ty < s[4]; ty++) {
                                for (int tx = 0; tx < s[3]; tx++, i++) {
                                    int[] want = {tx, ty, tz, bx, by, bz, s[3] | s[4] << 10 | s[5] << 20,
                                        s[0] | s[1] << 10 | s[2] << 20};
                                    assertArrayEquals(want, Arrays.copyOfRange(o, 8 * i, 8 * i + 8),
                                            "shape " + Arrays.toString(s) + ", thread " + i);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void barriersInALoopExchangeThroughSharedMemory() {
        int threads = 192;
        int blocks = 4;
        int iters = 9;
        SplittableRandom rng = new SplittableRandom(11);
        int[] data = new int[threads * blocks];
        for (int i = 0; i < data.length; i++) {
            data[i] = rng.nextInt();
        }
        long pd = ints(data);
        long counts = zeros(blocks);
        EmulatorNative.launch("emu_sync_loop", blocks, 1, 1, threads, 1, 1,
                KernelArgs.of().ptr(pd).ptr(counts).i(iters));
        int[] got = readInts(pd, data.length);
        int[] gotCounts = readInts(counts, blocks);
        for (int b = 0; b < blocks; b++) {
            int[] v = Arrays.copyOfRange(data, b * threads, (b + 1) * threads);
            for (int it = 0; it < iters; it++) {
                int[] next = new int[threads];
                for (int t = 0; t < threads; t++) {
                    next[t] = v[(t + 1) % threads] * 3 + v[(t + threads - 1) % threads] + it;
                }
                v = next;
            }
            assertArrayEquals(v, Arrays.copyOfRange(got, b * threads, (b + 1) * threads), "block " + b);
            assertEquals(Arrays.stream(v).filter(e -> (e & 1) != 0).count(), gotCounts[b], "odd count, block " + b);
        }
    }

    @Test
    void exitedThreadsCountAsArrivedAtBarriers() {
        int threads = 128;
        int live = 77;
        long out = floats(new float[2 * threads]);
        EmulatorNative.memset32(out, Float.floatToIntBits(-1f), 2 * threads);
        EmulatorNative.launch("emu_early_exit", 2, 1, 1, threads, 1, 1, KernelArgs.of().ptr(out).i(live));
        float[] o = readFloats(out, 2 * threads);
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < threads; t++) {
                assertEquals(t < live ? live - 1 - t + b : -1f, o[b * threads + t], "block " + b + ", thread " + t);
            }
        }
    }

    @Test
    void tiledGemmMatchesJava() {
        int m = 37;
        int n = 29;
        int k = 45;
        float[] a = random(m * k, 1);
        float[] b = random(k * n, 2);
        long pa = floats(a);
        long pb = floats(b);
        long pc = zeros(m * n);
        EmulatorNative.launch("emu_gemm_tiled", (n + 15) / 16, (m + 15) / 16, 1, 16, 16, 1,
                KernelArgs.of().ptr(pa).ptr(pb).ptr(pc).i(m).i(n).i(k));
        float[] c = readFloats(pc, m * n);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double want = 0;
                for (int p = 0; p < k; p++) {
                    want += (double) a[i * k + p] * b[p * n + j];
                }
                assertEquals(want, c[i * n + j], 1e-5, "C[" + i + "][" + j + "]");
            }
        }
    }

    @Test
    void bfloat16RoundingOfCommonHeader() {
        float[] x = {1f, -2.5f, 1.00390625f, 1.01171875f, 3.14159265f, 1e-30f, 65504f, Float.NaN,
            Float.POSITIVE_INFINITY, -0f, Float.intBitsToFloat(0x3f808000), Float.intBitsToFloat(0x3f818000)};
        long px = floats(x);
        long bits = zeros(x.length);
        long back = zeros(x.length);
        EmulatorNative.launch("emu_bf16", 1, 1, 1, 32, 1, 1, KernelArgs.of().ptr(px).ptr(bits).ptr(back).i(x.length));
        int[] h = readInts(bits, x.length);
        float[] r = readFloats(back, x.length);
        for (int i = 0; i < x.length; i++) {
            int u = Float.floatToRawIntBits(x[i]);
            int want = Float.isNaN(x[i]) ? (u >>> 16) | 0x40 : ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
            assertEquals(want, h[i], "bits of " + x[i]);
            assertEquals(Float.intBitsToFloat(want << 16), r[i], "value of " + x[i]);
        }
        assertEquals(0x3f80, h[10]);  // a tie rounds to even (down)
        assertEquals(0x3f82, h[11]);  // and up
    }

    @Test
    void argumentsArePackedInParameterOrder() {
        long out = zeros(3);
        long in = floats(new float[] {1.5f});
        long iout = zeros(2);
        KernelArgs args = KernelArgs.of().ptr(out).i(-42).ptr(in).f(2.25f).i(0x89abcdef).ptr(iout).f(-0.125f);
        assertEquals(44, args.packed().length);  // 0 8 16 24 28 32 40: the pointer after the int is padded to 8
        EmulatorNative.launch("emu_args", 1, 1, 1, 1, 1, 1, args);
        assertArrayEquals(new float[] {1.5f * 2.25f - 42f, 2.25f, -0.125f}, readFloats(out, 3));
        assertArrayEquals(new int[] {-42, 0x89abcdef}, readInts(iout, 2));

        long padded = zeros(2);
        EmulatorNative.launch("emu_args_padded", 1, 1, 1, 1, 1, 1, KernelArgs.of().i(17).ptr(padded).i(-3));
        assertArrayEquals(new int[] {17, -3}, readInts(padded, 2));
    }

    @Test
    void argumentsOfTheWrongTypeOrSizeAreRejected() {
        long out = zeros(3);
        long iout = zeros(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EmulatorNative.launch(
                "emu_args", 1, 1, 1, 1, 1, 1, KernelArgs.of().ptr(out).f(1f).ptr(out).f(1f).i(0).ptr(iout).f(0f)));
        assertTrue(e.getMessage().contains("PIPFUPF"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EmulatorNative.launch("emu_args", 1, 1, 1, 1, 1, 1,
                KernelArgs.of().ptr(out).i(1).ptr(out).f(1f).packed()));
        assertTrue(e.getMessage().contains("44 packed bytes, got 28"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EmulatorNative.launch("emu_index", 1, 1, 1, 1, 1, 1,
                KernelArgs.of().ptr(out + (1L << 40))));
        assertTrue(e.getMessage().contains("does not point into a live device allocation"), e.getMessage());
    }

    @Test
    void badLaunchShapesAndNamesAreRejected() {
        long out = zeros(8 * 2048);
        KernelArgs args = KernelArgs.of().ptr(out);
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.launch("emu_index", 1, 1, 1, 1025, 1, 1, args));
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.launch("emu_index", 1, 1, 1, 64, 32, 1, args));
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.launch("emu_index", 1, 1, 1, 0, 1, 1, args));
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.launch("emu_index", 0, 1, 1, 32, 1, 1, args));
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.launch("emu_index", 1, -1, 1, 32, 1, 1, args));
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.launch("emu_index", 1, 70000, 1, 1, 1, 1, args));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EmulatorNative.launch("no_such_kernel", 1, 1, 1, 32, 1, 1, args));
        assertTrue(e.getMessage().contains("no_such_kernel"), e.getMessage());
        // a valid launch still works afterwards
        EmulatorNative.launch("emu_index", 2, 1, 1, 1024, 1, 1, args);
        assertEquals(1023, readInts(out, 8 * 2048)[8 * 2047]);
    }

    @Test
    void outOfBoundsWritesFailTheLaunchThatMadeThem() {
        int n = 100;
        long x = zeros(n);
        long before = EmulatorNative.launches();
        EmulatorNative.launch("emu_out_of_bounds", 1, 1, 1, 32, 1, 1, KernelArgs.of().ptr(x).i(n - 1));  // in bounds
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> EmulatorNative.launch("emu_out_of_bounds", 1, 1, 1, 32, 1, 1, KernelArgs.of().ptr(x).i(n)));
        assertTrue(e.getMessage().contains("emu_out_of_bounds"), e.getMessage());
        assertTrue(e.getMessage().contains("of 400 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("offset 400"), e.getMessage());
        e = assertThrows(IllegalStateException.class,
                () -> EmulatorNative.launch("emu_out_of_bounds", 1, 1, 1, 32, 1, 1, KernelArgs.of().ptr(x).i(-1)));
        assertTrue(e.getMessage().contains("before the start"), e.getMessage());
        assertEquals(before + 3, EmulatorNative.launches());
        // the red zones were repaired: the next clean launch passes
        EmulatorNative.launch("emu_out_of_bounds", 1, 1, 1, 32, 1, 1, KernelArgs.of().ptr(x).i(0));
        assertEquals(1f, readFloats(x, 1)[0]);
    }

    @Test
    void deadlocksAreReportedWithTheThreadsInvolved() {
        long x = floats(random(64, 5));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> EmulatorNative.launch("emu_deadlock", 2, 1, 1, 64, 1, 1, KernelArgs.of().ptr(x)));
        String m = e.getMessage();
        assertTrue(m.contains("emu_deadlock") && m.contains("deadlocked") && m.contains("block (0,0,0)"), m);
        assertTrue(m.contains("thread (16,0,0)") && m.contains("__syncthreads") && m.contains("__shfl_xor_sync"), m);
        // the emulator is usable afterwards
        long out = zeros(8 * 64);
        EmulatorNative.launch("emu_index", 1, 1, 1, 64, 1, 1, KernelArgs.of().ptr(out));
        assertEquals(63, readInts(out, 8 * 64)[8 * 63]);
    }

    @Test
    void aShuffleMaskWithoutTheCallingLaneIsAnError() {
        long x = floats(random(32, 6));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> EmulatorNative.launch("emu_bad_mask", 1, 1, 1, 32, 1, 1, KernelArgs.of().ptr(x)));
        assertTrue(e.getMessage().contains("thread (1,0,0)") && e.getMessage().contains("__shfl_sync with mask 0x1"),
                e.getMessage());
    }

    @Test
    void failedAssertionsFailTheLaunch() {
        int[] v = new int[64];
        v[40] = -1;
        long x = ints(v);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> EmulatorNative.launch("emu_assert", 1, 1, 1, 64, 1, 1, KernelArgs.of().ptr(x)));
        assertTrue(e.getMessage().contains("thread (40,0,0)") && e.getMessage().contains("assertion"), e.getMessage());
        v[40] = 0;
        EmulatorNative.copyFromInts(x, v, 0, v.length);
        EmulatorNative.launch("emu_assert", 1, 1, 1, 64, 1, 1, KernelArgs.of().ptr(x));
    }

    @Test
    void memoryIsTrackedAndCopiesAreChecked() {
        long base = EmulatorNative.allocatedBytes();
        long p = EmulatorNative.malloc(1000);
        assertEquals(0, p % 256, "alignment");
        assertEquals(base + 1000, EmulatorNative.allocatedBytes());
        assertTrue(Float.isNaN(readFloats(p, 1)[0]), "fresh memory reads as NaN");
        float[] v = random(250, 9);
        EmulatorNative.copyFromFloats(p, v, 0, 250);
        long q = EmulatorNative.malloc(1000);
        EmulatorNative.copy(q, p, 1000);
        assertArrayEquals(v, readFloats(q, 250));
        EmulatorNative.memset32(q + 8, Float.floatToIntBits(3f), 2);
        assertArrayEquals(new float[] {v[0], v[1], 3f, 3f, v[4]}, readFloats(q, 5));

        ByteBuffer buf = ByteBuffer.allocateDirect(1000).order(ByteOrder.LITTLE_ENDIAN);
        EmulatorNative.copyToBuffer(buf, p, 1000);
        assertEquals(v[17], buf.getFloat(17 * 4));
        buf.putFloat(0, 42f);
        EmulatorNative.copyFromBuffer(q, buf, 4);
        assertEquals(42f, readFloats(q, 1)[0]);

        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.copyFromFloats(p, new float[251], 0, 251));
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.copyToFloats(p + 4, new float[250], 0, 250));
        assertThrows(IndexOutOfBoundsException.class, () -> EmulatorNative.copyToFloats(p, new float[10], 5, 6));
        assertThrows(IndexOutOfBoundsException.class, () -> EmulatorNative.copyFromInts(p, new int[10], 0, -1));
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.copy(q, p, 1001));
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.memset32(p, 0, -1));
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.copyFromBuffer(p, ByteBuffer.allocate(8), 8));
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.malloc(-1));

        EmulatorNative.free(p);
        EmulatorNative.free(q);
        assertEquals(base, EmulatorNative.allocatedBytes());
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.free(p), "double free");
        assertThrows(IllegalArgumentException.class, () -> EmulatorNative.copyFromFloats(p, v, 0, 1), "use after free");
    }

    @Test
    void memoryLimitRaisesOutOfMemory() {
        long base = EmulatorNative.allocatedBytes();
        EmulatorNative.setMemoryLimit(base + 4096);
        try {
            long p = EmulatorNative.malloc(4096);
            buffers.add(p);
            assertThrows(DeviceOutOfMemoryException.class, () -> EmulatorNative.malloc(1));
        } finally {
            EmulatorNative.setMemoryLimit(0);
        }
    }

    /** Not a benchmark gate: prints the launch rate of a reduction, the common kernel shape. */
    @Test
    void blockSumSpeed() {
        int threads = 256;
        int blocks = 1000;
        int n = 1024;
        long px = floats(random(blocks * n, 4));
        long sums = zeros(blocks * threads);
        long maxes = zeros(blocks * threads);
        KernelArgs args = KernelArgs.of().ptr(px).ptr(sums).ptr(maxes).i(n);
        for (int i = 0; i < 3; i++) {
            EmulatorNative.launch("emu_block_reduce", blocks, 1, 1, threads, 1, 1, args);
        }
        int launches = 10;
        long t0 = System.nanoTime();
        for (int i = 0; i < launches; i++) {
            EmulatorNative.launch("emu_block_reduce", blocks, 1, 1, threads, 1, 1, args);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("emulator: block_sum + block_max, %d blocks of %d threads: %.1f launches/s, %.1f us per block%n",
                blocks, threads, launches / seconds, seconds / launches / blocks * 1e6);

        int m = 128;
        long pa = floats(random(m * m, 1));
        long pb = floats(random(m * m, 2));
        long pc = zeros(m * m);
        KernelArgs g = KernelArgs.of().ptr(pa).ptr(pb).ptr(pc).i(m).i(m).i(m);
        EmulatorNative.launch("emu_gemm_tiled", m / 16, m / 16, 1, 16, 16, 1, g);
        t0 = System.nanoTime();
        for (int i = 0; i < launches; i++) {
            EmulatorNative.launch("emu_gemm_tiled", m / 16, m / 16, 1, 16, 16, 1, g);
        }
        seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("emulator: tiled GEMM %dx%dx%d (%d blocks of 16x16): %.1f launches/s%n", m, m, m,
                (m / 16) * (m / 16), launches / seconds);
    }
}
