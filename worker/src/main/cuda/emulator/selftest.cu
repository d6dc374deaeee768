// Kernels that exercise the emulator itself (EmulatorTest runs them). Plain CUDA: they also
// compile with nvcc, and would give the same results on a GPU, except emu_deadlock and
// emu_out_of_bounds, whose misbehaviour the emulator must detect.
#include <cassert>

#include "common.cuh"

using twobp::FULL_MASK;

// Per block: the sum and the maximum of x[b*n, (b+1)*n); every thread writes what it received.
TWOBP_KERNEL void emu_block_reduce(const float* __restrict__ x, float* __restrict__ sums, float* __restrict__ maxes,
                                   int n) {
    __shared__ float scratch[32];
    const float* seg = x + (size_t) blockIdx.x * n;
    float s = 0.f, m = -INFINITY;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        s += seg[i];
        m = fmaxf(m, seg[i]);
    }
    s = twobp::block_sum(s, scratch);
    m = twobp::block_max(m, scratch);
    const size_t t = (size_t) blockIdx.x * blockDim.x + threadIdx.x;
    sums[t] = s;
    maxes[t] = m;
}

// Each kind of shuffle, per thread i (one-dimensional launch):
// out[4i..4i+3] = xor(laneMask), down(delta), up(delta), indexed(lane*7+src) of x[i] within
// segments of `width` lanes; iout[2i] = xor of an int, iout[2i+1] = ballot(x > 0); uout[i] = down of an unsigned.
TWOBP_KERNEL void emu_shuffles(const float* x, float* out, int* iout, unsigned* uout, int laneMask, int delta,
                               int src, int width) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int lane = threadIdx.x & 31;
    const float v = x[i];
    out[4 * i + 0] = __shfl_xor_sync(FULL_MASK, v, laneMask, width);
    out[4 * i + 1] = __shfl_down_sync(FULL_MASK, v, delta, width);
    out[4 * i + 2] = __shfl_up_sync(FULL_MASK, v, delta, width);
    out[4 * i + 3] = __shfl_sync(FULL_MASK, v, lane * 7 + src, width);
    iout[2 * i] = __shfl_xor_sync(FULL_MASK, i * 3 - 100, laneMask, width);
    iout[2 * i + 1] = (int) __ballot_sync(FULL_MASK, v > 0.f);
    uout[i] = __shfl_down_sync(FULL_MASK, (unsigned) i * 2654435761u, delta, width);
}

// Grid-stride over integer-valued x: total += x, count += 1, maxv = max(x); every thread swaps
// its index into *slot and adds what it took out to *taken (sum(taken) + final slot = start + sum(i)).
TWOBP_KERNEL void emu_atomics(const float* x, float* total, int* count, int* maxv, int* slot, int* taken, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        atomicAdd(total, x[i]);
        atomicAdd(count, 1);
        atomicMax(maxv, (int) x[i]);
        atomicAdd(taken, atomicExch(slot, i));
    }
}

// Eight ints per thread, at its linear index over blocks and threads (x fastest):
// threadIdx.xyz, blockIdx.xyz, blockDim and gridDim packed as x | y << 10 | z << 20.
TWOBP_KERNEL void emu_index(int* out) {
    const int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    const int thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    int* o = out + 8 * (block * (blockDim.x * blockDim.y * blockDim.z) + thread);
    o[0] = threadIdx.x;
    o[1] = threadIdx.y;
    o[2] = threadIdx.z;
    o[3] = blockIdx.x;
    o[4] = blockIdx.y;
    o[5] = blockIdx.z;
    o[6] = blockDim.x | blockDim.y << 10 | blockDim.z << 20;
    o[7] = gridDim.x | gridDim.y << 10 | gridDim.z << 20;
}

// `iters` rounds of: publish v in shared memory, barrier, combine both neighbours, barrier.
// Then counts[block] = number of threads with an odd v (__syncthreads_count).
TWOBP_KERNEL void emu_sync_loop(unsigned* data, int* counts, int iters) {
    __shared__ unsigned s[1024];
    const unsigned t = threadIdx.x, n = blockDim.x;
    unsigned* d = data + (size_t) blockIdx.x * n;
    unsigned v = d[t];
    for (int it = 0; it < iters; it++) {
        s[t] = v;
        __syncthreads();
        v = s[(t + 1) % n] * 3u + s[(t + n - 1) % n] + (unsigned) it;
        __syncthreads();
    }
    d[t] = v;
    const int odd = __syncthreads_count(v & 1u);
    if (t == 0) counts[blockIdx.x] = odd;
}

// Threads at or past `live` return before the barriers: they count as arrived (Volta and newer).
// The others reverse their index range through shared memory.
TWOBP_KERNEL void emu_early_exit(float* out, int live) {
    __shared__ float s[1024];
    const int t = threadIdx.x;
    if (t >= live) return;
    s[t] = (float) t;
    __syncthreads();
    out[blockIdx.x * blockDim.x + t] = s[live - 1 - t] + (float) blockIdx.x;
    __syncthreads();
}

// Thread 0 of block 0 writes x[index] = 1: out of bounds unless 0 <= index < the buffer's length.
TWOBP_KERNEL void emu_out_of_bounds(float* x, int index) {
    if (blockIdx.x == 0 && threadIdx.x == 0) x[index] = 1.f;
}

// Half a warp shuffles while the other half waits at __syncthreads: never released.
TWOBP_KERNEL void emu_deadlock(float* x) {
    float v = x[threadIdx.x];
    if (threadIdx.x < 16) v = __shfl_xor_sync(FULL_MASK, v, 1);
    __syncthreads();
    x[threadIdx.x] = v;
}

// Every lane shuffles with a mask naming lane 0 only: undefined on a GPU, an error here.
TWOBP_KERNEL void emu_bad_mask(float* x) {
    x[threadIdx.x] = __shfl_sync(1u, x[threadIdx.x], 0);
}

// Fails for negative inputs.
TWOBP_KERNEL void emu_assert(const int* x) {
    assert(x[threadIdx.x] >= 0);
}

// A mix of parameter types, to check the argument packing.
TWOBP_KERNEL void emu_args(float* out, int a, const float* in, float b, unsigned c, int* iout, float d) {
    out[0] = in[0] * b + (float) a;
    out[1] = b;
    out[2] = d;
    iout[0] = a;
    iout[1] = (int) c;
}

// An int first, so the pointer after it is padded to offset 8.
TWOBP_KERNEL void emu_args_padded(int a, int* out, int b) {
    out[0] = a;
    out[1] = b;
}

// float -> bfloat16 -> float, as common.cuh does it.
TWOBP_KERNEL void emu_bf16(const float* x, int* bits, float* back, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const unsigned short h = twobp::f32_to_bf16(x[i]);
    bits[i] = h;
    back[i] = twobp::bf16_to_f32(h);
}

// C[M,N] = A[M,K] B[K,N], row-major, with 16x16 tiles in shared memory (blocks of 16x16 threads).
TWOBP_KERNEL void emu_gemm_tiled(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C,
                                 int M, int N, int K) {
    __shared__ float As[16][17];
    __shared__ float Bs[16][17];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = blockIdx.y * 16 + ty, col = blockIdx.x * 16 + tx;
    float acc = 0.f;
    for (int k0 = 0; k0 < K; k0 += 16) {
        As[ty][tx] = row < M && k0 + tx < K ? A[(size_t) row * K + k0 + tx] : 0.f;
        Bs[ty][tx] = col < N && k0 + ty < K ? B[(size_t) (k0 + ty) * N + col] : 0.f;
        __syncthreads();
        for (int k = 0; k < 16; k++) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    if (row < M && col < N) C[(size_t) row * N + col] = acc;
}
