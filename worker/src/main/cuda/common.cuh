// Helpers shared by the kernel families. Compiled by nvcc to PTX and, for tests on machines
// without a GPU, by the host C++ compiler with the emulator's header (emulator/cuda_emu.h).
//
// Conventions for every kernel here:
//  - declared TWOBP_KERNEL (extern "C" __global__) so that the driver finds it by its plain name;
//  - parameters are only pointers, int and float, in the order the Java side passes them;
//  - block sizes are multiples of 32 (whole warps), at most 1024 threads;
//  - warp intrinsics are called by every thread of the warp, __syncthreads by every live
//    thread of the block (the emulator relies on both, and so does correctness on the GPU).
#pragma once

#define TWOBP_KERNEL extern "C" __global__

namespace twobp {

constexpr unsigned FULL_MASK = 0xffffffffu;

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// Sum over the block; every thread gets the result. scratch: 32 floats of shared memory.
// Calls __syncthreads: every thread of the block must call it.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();                      // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.f;
    return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : -INFINITY;
    return warp_max(v);
}

// float -> bfloat16 bits, round to nearest even (NaN stays NaN), and back.
__device__ __forceinline__ unsigned short f32_to_bf16(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short) ((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short) (u >> 16);
}

__device__ __forceinline__ float bf16_to_f32(unsigned short h) {
    return __uint_as_float(((unsigned) h) << 16);
}

// float -> IEEE half bits, round to nearest even, overflow to infinity.
__device__ __forceinline__ unsigned short f32_to_f16(float f) {
    unsigned u = __float_as_uint(f);
    unsigned sign = (u >> 16) & 0x8000u;
    unsigned a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (unsigned short) (sign | 0x7e00u);           // NaN
    if (a >= 0x477ff000u) return (unsigned short) (sign | 0x7c00u);          // rounds past 65504
    if (a < 0x38800000u) {                                                   // subnormal half or zero
        if (a < 0x33000000u) return (unsigned short) sign;
        unsigned mant = (a & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int) (a >> 23);                                   // 14..24
        unsigned q = mant >> shift, rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (unsigned short) (sign | q);
    }
    unsigned q = ((a - 0x38000000u) >> 13), rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q++;
    return (unsigned short) (sign | q);
}

// Cephes-style expf: the same reduction and polynomial as the CPU backend's FastExp, so that
// both backends agree to rounding; inputs clamped to [-87, 88].
__device__ __forceinline__ float fast_exp(float x) {
    x = fmaxf(-87.f, fminf(88.f, x));
    const float round = 12582912.f;
    float t = x * 1.44269504088896341f + round;
    int n = __float_as_int(t) - 0x4B400000;
    float fn = t - round;
    float r = x - fn * 0.693359375f - fn * -2.12194440e-4f;
    float y = (((((1.9875691500E-4f * r + 1.3981999507E-3f) * r + 8.3334519073E-3f) * r + 4.1665795894E-2f) * r
               + 1.6666665459E-1f) * r + 5.0000001201E-1f) * (r * r) + r + 1.f;
    return y * __int_as_float((n + 127) << 23);
}

__device__ __forceinline__ float fast_sigmoid(float x) { return 1.f / (1.f + fast_exp(-x)); }

__device__ __forceinline__ float fast_tanh(float x) { return 1.f - 2.f / (1.f + fast_exp(2.f * x)); }

// Grid-stride loop over [0, n) with 64-bit indices (n near 2^31 must not overflow).
#define TWOBP_FOR_EACH(i, n) \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (long long) (n); \
         i += (long long) blockDim.x * gridDim.x)

}  // namespace twobp
