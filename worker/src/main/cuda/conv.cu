// 2-D convolution (NCHW) lowered to GEMMs, NCHW channel bias, and batch normalisation in training
// mode. The GEMMs themselves run in cuBLAS (or gemm.cu); here are the layout kernels around them:
//  - im2col: images [n, C, H, W] -> column matrices [n, C*kh*kw, outH*outW], one thread per
//    column element, 0 where a tap falls in the padding;
//  - col2im: the reverse for p1; each thread owns one input element and sums the taps that read
//    it in kernel order, so there are no atomics and the result is the same every run.
// Per-channel reductions (bias gradient, batch norm) use one block per channel with block_sum.
#include "common.cuh"
using namespace twobp;

// col[n][(c*kh + i)*kw + j][y*outW + x] = x[n][c][y*stride - pad + i][x*stride - pad + j] (0 outside).
TWOBP_KERNEL void im2col(const float* x, float* col, int images, int channels, int height, int width, int kh,
                         int kw, int stride, int pad, int outH, int outW) {
    const long long p = (long long) outH * outW;
    const long long rows = (long long) channels * kh * kw;
    TWOBP_FOR_EACH(e, (long long) images * rows * p) {
        const long long q = e % p;
        const long long r = (e / p) % rows;
        const long long n = e / (p * rows);
        const int c = (int) (r / (kh * kw)), i = (int) (r / kw % kh), j = (int) (r % kw);
        const int y = (int) (q / outW), xx = (int) (q % outW);
        const int ih = y * stride - pad + i, iw = xx * stride - pad + j;
        col[e] = ih >= 0 && ih < height && iw >= 0 && iw < width
                         ? x[((n * channels + c) * height + ih) * width + iw]
                         : 0.f;
    }
}

// dx[n][c][ih][iw] = sum over taps (i, j) with (ih + pad - i, iw + pad - j) on the stride grid
// inside the output of col[n][(c*kh + i)*kw + j][oy*outW + ox]; assigned.
TWOBP_KERNEL void col2im(const float* col, float* dx, int images, int channels, int height, int width, int kh,
                         int kw, int stride, int pad, int outH, int outW) {
    const long long p = (long long) outH * outW;
    const long long rows = (long long) channels * kh * kw;
    TWOBP_FOR_EACH(e, (long long) images * channels * height * width) {
        const int iw = (int) (e % width);
        const int ih = (int) (e / width % height);
        const int c = (int) (e / ((long long) width * height) % channels);
        const long long n = e / ((long long) width * height * channels);
        const float* base = col + n * rows * p;
        float acc = 0.f;
        for (int i = 0; i < kh; i++) {
            const int ty = ih + pad - i;
            if (ty < 0 || ty % stride != 0 || ty / stride >= outH) continue;
            const int oy = ty / stride;
            for (int j = 0; j < kw; j++) {
                const int tx = iw + pad - j;
                if (tx < 0 || tx % stride != 0 || tx / stride >= outW) continue;
                acc += base[((long long) (c * kh + i) * kw + j) * p + (long long) oy * outW + tx / stride];
            }
        }
        dx[e] = acc;
    }
}

// y[n][c][s] += bias[c].
TWOBP_KERNEL void add_channel_bias(float* y, const float* bias, int batch, int channels, int spatial) {
    TWOBP_FOR_EACH(e, (long long) batch * channels * spatial) {
        y[e] += bias[(e / spatial) % channels];
    }
}

// One block per channel: dbias[c] += sum over n and s of dy[n][c][s].
TWOBP_KERNEL void sum_channels(const float* dy, float* dbias, int batch, int channels, int spatial) {
    __shared__ float scratch[32];
    const int c = blockIdx.x;
    const long long m = (long long) batch * spatial;
    float acc = 0.f;
    for (long long k = threadIdx.x; k < m; k += blockDim.x) {
        acc += dy[((k / spatial) * channels + c) * spatial + k % spatial];
    }
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) dbias[c] += acc;
}

// One block per channel: mean and biased variance over batch and spatial positions (two passes),
// out = (x - mean) * rstd * gamma + beta.
TWOBP_KERNEL void batchnorm_forward(const float* x, const float* gamma, const float* beta, float eps, float* out,
                                    float* mean, float* rstd, int batch, int channels, int spatial) {
    __shared__ float scratch[32];
    const int c = blockIdx.x;
    const long long m = (long long) batch * spatial;
    float sum = 0.f;
    for (long long k = threadIdx.x; k < m; k += blockDim.x)
        sum += x[((k / spatial) * channels + c) * spatial + k % spatial];
    const float mu = block_sum(sum, scratch) / (float) m;
    float var = 0.f;
    for (long long k = threadIdx.x; k < m; k += blockDim.x) {
        float d = x[((k / spatial) * channels + c) * spatial + k % spatial] - mu;
        var += d * d;
    }
    var = block_sum(var, scratch);
    const float s = rsqrtf(var / (float) m + eps);
    if (threadIdx.x == 0) {
        mean[c] = mu;
        rstd[c] = s;
    }
    const float g = gamma[c], b = beta[c];
    for (long long k = threadIdx.x; k < m; k += blockDim.x) {
        const long long i = ((k / spatial) * channels + c) * spatial + k % spatial;
        out[i] = (x[i] - mu) * s * g + b;
    }
}

// One block per channel: dx = rstd * gamma * (dout - mean(dout) - xhat * mean(dout * xhat)).
TWOBP_KERNEL void batchnorm_backward_input(const float* dout, const float* x, const float* gamma, const float* mean,
                                           const float* rstd, float* dx, int batch, int channels, int spatial) {
    __shared__ float scratch[32];
    const int c = blockIdx.x;
    const long long m = (long long) batch * spatial;
    const float mu = mean[c], s = rstd[c];
    float sumG = 0.f, sumGx = 0.f;
    for (long long k = threadIdx.x; k < m; k += blockDim.x) {
        const long long i = ((k / spatial) * channels + c) * spatial + k % spatial;
        const float g = dout[i];
        sumG += g;
        sumGx += g * ((x[i] - mu) * s);
    }
    const float meanG = block_sum(sumG, scratch) / (float) m;
    const float meanGx = block_sum(sumGx, scratch) / (float) m;
    const float k0 = s * gamma[c];
    for (long long k = threadIdx.x; k < m; k += blockDim.x) {
        const long long i = ((k / spatial) * channels + c) * spatial + k % spatial;
        const float xhat = (x[i] - mu) * s;
        dx[i] = k0 * (dout[i] - meanG - xhat * meanGx);
    }
}

// One block per channel: dgamma[c] += sum dout * xhat, dbeta[c] += sum dout.
TWOBP_KERNEL void batchnorm_backward_weight(const float* dout, const float* x, const float* mean, const float* rstd,
                                            float* dgamma, float* dbeta, int batch, int channels, int spatial) {
    __shared__ float scratch[32];
    const int c = blockIdx.x;
    const long long m = (long long) batch * spatial;
    const float mu = mean[c], s = rstd[c];
    float accW = 0.f, accB = 0.f;
    for (long long k = threadIdx.x; k < m; k += blockDim.x) {
        const long long i = ((k / spatial) * channels + c) * spatial + k % spatial;
        const float g = dout[i];
        accW += g * ((x[i] - mu) * s);
        accB += g;
    }
    accW = block_sum(accW, scratch);
    accB = block_sum(accB, scratch);
    if (threadIdx.x == 0) {
        dgamma[c] += accW;
        dbeta[c] += accB;
    }
}
