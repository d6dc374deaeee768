package org.twobp.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.twobp.worker.backend.ConvShape;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Tensor;

/**
 * The convolution, channel-bias and batch-norm kernels of {@code conv.cu} against the CPU
 * backend on the same random inputs: forward, p1 and p2 (accumulating onto a random gradient),
 * strides 1 and 2, padding 0, 1 and 2, square and non-square kernels, several chunks of images.
 * Tolerance: float32, within 1e-5 of the largest magnitude of the CPU result (the GEMMs and the
 * per-channel sums add in a different order; nothing else differs).
 */
class ConvParityTest {

    private static final float TOLERANCE = 1e-5f;

    /** Geometries: batch, channels, height, width, filters, kernelH, kernelW, stride, pad. */
    private static final ConvShape[] SHAPES = {
        new ConvShape(2, 3, 7, 6, 4, 3, 3, 1, 1),
        new ConvShape(2, 3, 7, 6, 4, 3, 2, 2, 1),
        new ConvShape(3, 2, 6, 7, 5, 2, 3, 1, 0),
        new ConvShape(2, 4, 9, 8, 3, 3, 3, 2, 0),
        new ConvShape(2, 3, 5, 6, 4, 5, 1, 2, 2),
        new ConvShape(1, 1, 1, 1, 2, 1, 1, 1, 0),
    };



    private static int[] nchw(int b, int c, int h, int w) {
        return new int[] {b, c, h, w};
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void convolution(String target) {
        double worst = 0;
        for (ConvShape s : SHAPES) {
            for (long workspace : new long[] {1L << 25, 1}) {
                try (BackendPair p = new BackendPair(target, Precision.FP32, 11)) {
                    p.gpu.setConvWorkspaceFloats(workspace);   // 1: one image per chunk
                    String what = s + (workspace == 1 ? ", one image per chunk" : "");
                    Tensor[] x = p.random(1f, nchw(s.batch(), s.channels(), s.height(), s.width()));
                    Tensor[] w = p.random(1f, nchw(s.filters(), s.channels(), s.kernelH(), s.kernelW()));
                    Tensor[] y = p.random(1f, nchw(s.batch(), s.filters(), s.outHeight(), s.outWidth()));
                    p.cpu.conv2dForward(s, x[0], w[0], y[0]);
                    p.gpu.conv2dForward(s, x[1], w[1], y[1]);
                    worst = Math.max(worst, p.same(y, TOLERANCE, "conv forward " + what));

                    Tensor[] dy = p.random(1f, nchw(s.batch(), s.filters(), s.outHeight(), s.outWidth()));
                    Tensor[] dx = p.random(1f, nchw(s.batch(), s.channels(), s.height(), s.width()));
                    p.cpu.conv2dBackwardInput(s, dy[0], w[0], dx[0]);
                    p.gpu.conv2dBackwardInput(s, dy[1], w[1], dx[1]);
                    worst = Math.max(worst, p.same(dx, TOLERANCE, "conv p1 " + what));

                    Tensor[] dw = p.random(1f, nchw(s.filters(), s.channels(), s.kernelH(), s.kernelW()));
                    p.cpu.conv2dBackwardWeight(s, dy[0], x[0], dw[0]);
                    p.gpu.conv2dBackwardWeight(s, dy[1], x[1], dw[1]);
                    worst = Math.max(worst, p.same(dw, TOLERANCE, "conv p2 (accumulating) " + what));

                    int spatial = s.colCols();
                    Tensor[] bias = p.random(1f, s.filters());
                    p.cpu.addChannelBias(y[0], bias[0], s.batch(), s.filters(), spatial);
                    p.gpu.addChannelBias(y[1], bias[1], s.batch(), s.filters(), spatial);
                    worst = Math.max(worst, p.same(y, TOLERANCE, "channel bias " + what));
                    Tensor[] db = p.random(1f, s.filters());
                    p.cpu.sumChannels(dy[0], db[0], s.batch(), s.filters(), spatial);
                    p.gpu.sumChannels(dy[1], db[1], s.batch(), s.filters(), spatial);
                    worst = Math.max(worst, p.same(db, TOLERANCE, "channel sum (accumulating) " + what));
                    assertEquals(0, p.gpu.memory().current(MemoryCategory.WORKSPACE), "workspace returned: " + what);
                }
            }
        }
        System.out.printf("conv parity (%s): worst difference %.2e of the largest value (bound %.0e)%n", target, worst,
                TOLERANCE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void batchNorm(String target) {
        double worst = 0;
        // batch, channels, spatial: fewer values per channel than a warp, and more than a block
        for (int[] g : new int[][] {{1, 3, 5}, {2, 4, 20}, {3, 5, 300}, {4, 2, 1}}) {
            try (BackendPair p = new BackendPair(target, Precision.FP32, 11)) {
                int b = g[0];
                int c = g[1];
                int sp = g[2];
                String what = "batch " + b + ", channels " + c + ", spatial " + sp;
                Tensor[] x = p.random(2f, 0.7f, b, c, sp);
                Tensor[] gamma = p.random(1f, 1f, c);
                Tensor[] beta = p.random(1f, c);
                Tensor[] out = p.random(1f, b, c, sp);
                Tensor[] mean = p.random(1f, c);
                Tensor[] rstd = p.random(1f, c);
                p.cpu.batchNormForward(x[0], gamma[0], beta[0], 1e-5f, b, c, sp, out[0], mean[0], rstd[0]);
                p.gpu.batchNormForward(x[1], gamma[1], beta[1], 1e-5f, b, c, sp, out[1], mean[1], rstd[1]);
                worst = Math.max(worst, p.same(out, TOLERANCE, "batchnorm forward " + what));
                worst = Math.max(worst, p.same(mean, TOLERANCE, "batchnorm mean " + what));
                worst = Math.max(worst, p.same(rstd, TOLERANCE, "batchnorm rstd " + what));

                Tensor[] dout = p.random(1f, b, c, sp);
                Tensor[] dx = p.random(1f, b, c, sp);
                p.cpu.batchNormBackwardInput(dout[0], x[0], gamma[0], mean[0], rstd[0], b, c, sp, dx[0]);
                p.gpu.batchNormBackwardInput(dout[1], x[1], gamma[1], mean[1], rstd[1], b, c, sp, dx[1]);
                if (b * sp > 1) {   // one value per channel: dx is 0 up to rounding, nothing to compare against
                    worst = Math.max(worst, p.same(dx, TOLERANCE, "batchnorm p1 " + what));
                }
                Tensor[] dgamma = p.random(1f, c);
                Tensor[] dbeta = p.random(1f, c);
                p.cpu.batchNormBackwardWeight(dout[0], x[0], mean[0], rstd[0], b, c, sp, dgamma[0], dbeta[0]);
                p.gpu.batchNormBackwardWeight(dout[1], x[1], mean[1], rstd[1], b, c, sp, dgamma[1], dbeta[1]);
                worst = Math.max(worst, p.same(dgamma, TOLERANCE, "batchnorm p2 gamma (accumulating) " + what));
                worst = Math.max(worst, p.same(dbeta, TOLERANCE, "batchnorm p2 beta (accumulating) " + what));
            }
        }
        System.out.printf("batch norm parity (%s): worst difference %.2e of the largest value (bound %.0e)%n", target,
                worst, TOLERANCE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void shapesAreChecked(String target) {
        try (BackendPair p = new BackendPair(target, Precision.FP32, 11)) {
            ConvShape s = SHAPES[1];
            Tensor[] x = p.random(1f, nchw(s.batch(), s.channels(), s.height(), s.width()));
            Tensor[] w = p.random(1f, nchw(s.filters(), s.channels(), s.kernelH(), s.kernelW()));
            Tensor[] wrong = p.random(1f, s.batch(), s.filters(), s.outHeight() + 1, s.outWidth());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.gpu.conv2dForward(s, x[1], w[1], wrong[1]));
            assertTrue(e.getMessage().contains("output [2, 4, 4, 4]"), e.getMessage());
            Tensor[] g = p.random(1f, s.channels());
            int spatial = s.height() * s.width();
            e = assertThrows(IllegalArgumentException.class, () -> p.gpu.batchNormForward(x[1], g[1], g[1], 1e-5f,
                    s.batch(), s.channels(), spatial + 1, x[1], g[1], g[1]));
            assertTrue(e.getMessage().contains("batchNormForward needs [2, 3, 43]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> p.gpu.batchNormForward(x[1], g[1], w[1], 1e-5f,
                    s.batch(), s.channels(), spatial, x[1], g[1], g[1]));
            assertTrue(e.getMessage().contains("one value per channel (3)"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new ConvShape(1, 1, 2, 2, 1, 5, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new ConvShape(1, 1, 2, 2, 1, 1, 1, 0, 0));
    }
}
