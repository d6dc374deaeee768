// Causal softmax over attention score matrices [T, T], in place, one block per row.
#include "common.cuh"
using namespace twobp;

// Row `row` of the stacked matrices is row i = row % t of its matrix: p = softmax(scale * s)
// over columns j <= i, zero above the diagonal.
TWOBP_KERNEL void causal_softmax_forward(float* s, int rows, int t, float scale) {
    __shared__ float scratch[32];
    const int i = blockIdx.x % t;
    float* row = s + (long long) blockIdx.x * t;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j <= i; j += blockDim.x) mx = fmaxf(mx, row[j]);
    mx = block_max(mx, scratch);
    float sum = 0.f;
    for (int j = threadIdx.x; j <= i; j += blockDim.x) {
        float e = fast_exp(scale * (row[j] - mx));
        row[j] = e;
        sum += e;
    }
    const float inv = 1.f / block_sum(sum, scratch);
    for (int j = threadIdx.x; j < t; j += blockDim.x) row[j] = j <= i ? row[j] * inv : 0.f;
}

// In place on g: g = scale * p * (g - sum_j p*g), zero above the diagonal.
TWOBP_KERNEL void causal_softmax_backward(const float* p, float* g, int rows, int t, float scale) {
    __shared__ float scratch[32];
    const int i = blockIdx.x % t;
    const float* pr = p + (long long) blockIdx.x * t;
    float* gr = g + (long long) blockIdx.x * t;
    float dot = 0.f;
    for (int j = threadIdx.x; j <= i; j += blockDim.x) dot += pr[j] * gr[j];
    dot = block_sum(dot, scratch);
    for (int j = threadIdx.x; j < t; j += blockDim.x) gr[j] = j <= i ? scale * pr[j] * (gr[j] - dot) : 0.f;
}
