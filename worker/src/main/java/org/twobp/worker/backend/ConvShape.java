package org.twobp.worker.backend;

import org.twobp.worker.tensor.Tensor;

/**
 * The geometry of a 2-D convolution, NCHW: input [batch, channels, height, width], weights
 * [filters, channels, kernelH, kernelW], output [batch, filters, outHeight, outWidth], the same
 * stride and zero padding in both directions, no dilation or groups.
 *
 * <p>Backends lower the convolution to GEMMs over the "column" matrix of one image,
 * [channels * kernelH * kernelW, outHeight * outWidth] ({@link #colRows()} x {@link #colCols()}):
 * row (c, i, j) holds the input pixel under kernel tap (i, j) of channel c for every output
 * position, 0 where the tap falls in the padding.
 */
public record ConvShape(int batch, int channels, int height, int width, int filters, int kernelH, int kernelW,
                        int stride, int pad) {

    public ConvShape {
        if (batch < 1 || channels < 1 || height < 1 || width < 1 || filters < 1) {
            throw new IllegalArgumentException("convolution sizes must be positive: batch " + batch + ", channels "
                    + channels + ", height " + height + ", width " + width + ", filters " + filters);
        }
        if (kernelH < 1 || kernelW < 1) {
            throw new IllegalArgumentException("convolution kernel must be at least 1x1, got " + kernelH + "x"
                    + kernelW);
        }
        if (stride < 1) {
            throw new IllegalArgumentException("convolution stride must be at least 1, got " + stride);
        }
        if (pad < 0) {
            throw new IllegalArgumentException("convolution padding must not be negative, got " + pad);
        }
        if (height + 2L * pad < kernelH || width + 2L * pad < kernelW) {
            throw new IllegalArgumentException("a " + kernelH + "x" + kernelW + " kernel does not fit a " + height + "x"
                    + width + " input with padding " + pad);
        }
        long in = (long) batch * channels * height * width;
        long out = (long) batch * filters * ((height + 2L * pad - kernelH) / stride + 1)
                * ((width + 2L * pad - kernelW) / stride + 1);
        long col = (long) channels * kernelH * kernelW * ((height + 2L * pad - kernelH) / stride + 1)
                * ((width + 2L * pad - kernelW) / stride + 1);
        if (in > Integer.MAX_VALUE || out > Integer.MAX_VALUE || col > Integer.MAX_VALUE
                || (long) filters * channels * kernelH * kernelW > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("convolution of " + batch + "x" + channels + "x" + height + "x" + width
                    + " by " + filters + "x" + channels + "x" + kernelH + "x" + kernelW
                    + " has a tensor or column matrix of more than 2^31-1 elements");
        }
    }

    public int outHeight() {
        return (height + 2 * pad - kernelH) / stride + 1;
    }

    public int outWidth() {
        return (width + 2 * pad - kernelW) / stride + 1;
    }

    /** Rows of an image's column matrix: channels * kernelH * kernelW (the GEMMs' inner dimension). */
    public int colRows() {
        return channels * kernelH * kernelW;
    }

    /** Columns of an image's column matrix: output positions per image. */
    public int colCols() {
        return outHeight() * outWidth();
    }

    /** Elements of one input image, channels * height * width. */
    public int imageSize() {
        return channels * height * width;
    }

    /** Elements of one output image, filters * outHeight * outWidth. */
    public int outImageSize() {
        return filters * colCols();
    }

    public int inputSize() {
        return batch * imageSize();
    }

    public int weightSize() {
        return filters * colRows();
    }

    public int outputSize() {
        return batch * outImageSize();
    }

    /** Multiply-adds times two of the forward pass (each backward half costs the same). */
    public long flops() {
        return 2L * batch * filters * colRows() * colCols();
    }

    /** Fails with the expected and actual sizes when the tensors do not fit this shape. */
    public void check(String op, Tensor input, Tensor weight, Tensor output) {
        if (input.size() != inputSize() || weight.size() != weightSize() || output.size() != outputSize()) {
            throw new IllegalArgumentException(op + " for " + this + " needs input [" + batch + ", " + channels + ", "
                    + height + ", " + width + "] (" + inputSize() + "), weight [" + filters + ", " + channels + ", "
                    + kernelH + ", " + kernelW + "] (" + weightSize() + ") and output [" + batch + ", " + filters + ", "
                    + outHeight() + ", " + outWidth() + "] (" + outputSize() + "), got " + input + ", " + weight
                    + " and " + output);
        }
    }

    /**
     * Fails unless {@code t} holds an NCHW activation of {@code batch * channels * spatial}
     * elements (spatial = height * width) with positive sizes.
     */
    public static void checkActivation(String op, int batch, int channels, int spatial, Tensor t) {
        if (batch < 1 || channels < 1 || spatial < 1) {
            throw new IllegalArgumentException(op + ": batch, channels and spatial size must be positive, got " + batch
                    + ", " + channels + ", " + spatial);
        }
        if (t.size() != (long) batch * channels * spatial) {
            throw new IllegalArgumentException(op + " needs [" + batch + ", " + channels + ", " + spatial
                    + "] (batch, channels, height*width) = " + (long) batch * channels * spatial + " elements, got "
                    + t);
        }
    }

    /** Fails unless {@code t} holds one value per channel. */
    public static void checkPerChannel(String op, int channels, Tensor t) {
        if (t.size() != channels) {
            throw new IllegalArgumentException(op + " needs one value per channel (" + channels + "), got " + t);
        }
    }

    /** Batch-norm operands: activations [batch, channels, spatial] and per-channel vectors. */
    public static void checkBatchNorm(String op, int batch, int channels, int spatial, Tensor[] full,
                                      Tensor[] perChannel) {
        for (Tensor t : full) {
            checkActivation(op, batch, channels, spatial, t);
        }
        for (Tensor t : perChannel) {
            checkPerChannel(op, channels, t);
        }
    }
}
