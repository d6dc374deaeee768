// RMSNorm and LayerNorm over the last dimension: forward, p1 (input gradient) and p2 (weight
// gradient). Forward and p1 use one block per row; p2 sums over rows with one column per thread
// (blocks of 32 x 8) so that the weight gradient needs no atomics and is the same every run.
#include "common.cuh"
using namespace twobp;

TWOBP_KERNEL void rmsnorm_forward(const float* x, const float* w, float eps, float* out, float* rstd,
                                  int rows, int c) {
    __shared__ float scratch[32];
    const long long base = (long long) blockIdx.x * c;
    float ss = 0.f;
    for (int j = threadIdx.x; j < c; j += blockDim.x) {
        float v = x[base + j];
        ss += v * v;
    }
    ss = block_sum(ss, scratch);
    const float s = rsqrtf(ss / c + eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = s;
    for (int j = threadIdx.x; j < c; j += blockDim.x) out[base + j] = x[base + j] * s * w[j];
}

// xhat = x * s; dx = s * (dout*w - xhat * mean(dout*w*xhat)).
TWOBP_KERNEL void rmsnorm_backward_input(const float* dout, const float* x, const float* w, const float* rstd,
                                         float* dx, int rows, int c) {
    __shared__ float scratch[32];
    const long long base = (long long) blockIdx.x * c;
    const float s = rstd[blockIdx.x];
    float dot = 0.f;
    for (int j = threadIdx.x; j < c; j += blockDim.x) dot += dout[base + j] * w[j] * x[base + j];
    dot = block_sum(dot, scratch);
    const float k = dot * s * s / c;
    for (int j = threadIdx.x; j < c; j += blockDim.x)
        dx[base + j] = s * (dout[base + j] * w[j] - x[base + j] * k);
}

TWOBP_KERNEL void rmsnorm_backward_weight(const float* dout, const float* x, const float* rstd, float* dw,
                                          int rows, int c) {
    __shared__ float part[8][33];
    const int j = blockIdx.x * 32 + threadIdx.x;
    float acc = 0.f;
    if (j < c)
        for (int r = threadIdx.y; r < rows; r += blockDim.y) {
            long long i = (long long) r * c + j;
            acc += dout[i] * x[i] * rstd[r];
        }
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && j < c) {
        float s = 0.f;
        for (int y = 0; y < (int) blockDim.y; y++) s += part[y][threadIdx.x];
        dw[j] += s;
    }
}

TWOBP_KERNEL void layernorm_forward(const float* x, const float* w, const float* b, float eps, float* out,
                                    float* mean, float* rstd, int rows, int c) {
    __shared__ float scratch[32];
    const long long base = (long long) blockIdx.x * c;
    float sum = 0.f;
    for (int j = threadIdx.x; j < c; j += blockDim.x) sum += x[base + j];
    const float mu = block_sum(sum, scratch) / c;
    float var = 0.f;                       // two passes: no cancellation for rows with a large mean
    for (int j = threadIdx.x; j < c; j += blockDim.x) {
        float d = x[base + j] - mu;
        var += d * d;
    }
    var = block_sum(var, scratch);
    const float s = rsqrtf(var / c + eps);
    if (threadIdx.x == 0) {
        mean[blockIdx.x] = mu;
        rstd[blockIdx.x] = s;
    }
    for (int j = threadIdx.x; j < c; j += blockDim.x) out[base + j] = (x[base + j] - mu) * s * w[j] + b[j];
}

TWOBP_KERNEL void layernorm_backward_input(const float* dout, const float* x, const float* w, const float* mean,
                                           const float* rstd, float* dx, int rows, int c) {
    __shared__ float scratch[32];
    const long long base = (long long) blockIdx.x * c;
    const float m = mean[blockIdx.x], s = rstd[blockIdx.x];
    float sumG = 0.f, sumGx = 0.f;
    for (int j = threadIdx.x; j < c; j += blockDim.x) {
        float g = dout[base + j] * w[j];
        sumG += g;
        sumGx += g * (x[base + j] - m) * s;
    }
    const float meanG = block_sum(sumG, scratch) / c;
    const float meanGx = block_sum(sumGx, scratch) / c;
    for (int j = threadIdx.x; j < c; j += blockDim.x) {
        float xhat = (x[base + j] - m) * s;
        dx[base + j] = s * (dout[base + j] * w[j] - meanG - xhat * meanGx);
    }
}

TWOBP_KERNEL void layernorm_backward_weight(const float* dout, const float* x, const float* mean,
                                            const float* rstd, float* dw, float* db, int rows, int c) {
    __shared__ float partW[8][33];
    __shared__ float partB[8][33];
    const int j = blockIdx.x * 32 + threadIdx.x;
    float accW = 0.f, accB = 0.f;
    if (j < c)
        for (int r = threadIdx.y; r < rows; r += blockDim.y) {
            long long i = (long long) r * c + j;
            float g = dout[i];
            accW += g * ((x[i] - mean[r]) * rstd[r]);
            accB += g;
        }
    partW[threadIdx.y][threadIdx.x] = accW;
    partB[threadIdx.y][threadIdx.x] = accB;
    __syncthreads();
    if (threadIdx.y == 0 && j < c) {
        float sw = 0.f, sb = 0.f;
        for (int y = 0; y < (int) blockDim.y; y++) {
            sw += partW[y][threadIdx.x];
            sb += partB[y][threadIdx.x];
        }
        dw[j] += sw;
        db[j] += sb;
    }
}
