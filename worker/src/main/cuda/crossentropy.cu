// Softmax cross-entropy over logits [rows, V], in place, one block per row.
#include "common.cuh"
using namespace twobp;

// logits become probabilities; losses[r] = -log p[target], correct[r] = 1 when the first
// arg-max is the target; both 0 where target < 0.
TWOBP_KERNEL void cross_entropy_forward(float* logits, const int* targets, float* losses, float* correct,
                                        int rows, int v) {
    __shared__ float sv[32];
    __shared__ int si[32];
    __shared__ float scratch[32];
    float* row = logits + (long long) blockIdx.x * v;
    const int target = targets[blockIdx.x];
    // arg-max with ties to the smallest index, as a sequential scan finds it
    float best = -INFINITY;
    int arg = 0x7fffffff;
    for (int j = threadIdx.x; j < v; j += blockDim.x)
        if (row[j] > best) { best = row[j]; arg = j; }
    for (int o = 16; o > 0; o >>= 1) {
        float ob = __shfl_xor_sync(FULL_MASK, best, o);
        int oa = __shfl_xor_sync(FULL_MASK, arg, o);
        if (ob > best || (ob == best && oa < arg)) { best = ob; arg = oa; }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    if (lane == 0) { sv[warp] = best; si[warp] = arg; }
    __syncthreads();
    best = lane < warps ? sv[lane] : -INFINITY;
    arg = lane < warps ? si[lane] : 0x7fffffff;
    for (int o = 16; o > 0; o >>= 1) {
        float ob = __shfl_xor_sync(FULL_MASK, best, o);
        int oa = __shfl_xor_sync(FULL_MASK, arg, o);
        if (ob > best || (ob == best && oa < arg)) { best = ob; arg = oa; }
    }
    const float mx = best;
    const float targetLogit = target >= 0 ? row[target] : 0.f;
    __syncthreads();                      // every thread has read row[target] before it is overwritten
    float sum = 0.f;
    for (int j = threadIdx.x; j < v; j += blockDim.x) {
        float e = fast_exp(row[j] - mx);
        row[j] = e;
        sum += e;
    }
    sum = block_sum(sum, scratch);
    const float inv = 1.f / sum;
    for (int j = threadIdx.x; j < v; j += blockDim.x) row[j] *= inv;
    if (threadIdx.x == 0) {
        losses[blockIdx.x] = target >= 0 ? logf(sum) + mx - targetLogit : 0.f;
        correct[blockIdx.x] = target >= 0 && arg == target ? 1.f : 0.f;
    }
}

// probs become scale * (p - onehot(target)); rows with target < 0 become 0.
TWOBP_KERNEL void cross_entropy_backward(float* probs, const int* targets, int rows, int v, float scale) {
    float* row = probs + (long long) blockIdx.x * v;
    const int target = targets[blockIdx.x];
    for (int j = threadIdx.x; j < v; j += blockDim.x)
        row[j] = target < 0 ? 0.f : row[j] * scale - (j == target ? scale : 0.f);
}
