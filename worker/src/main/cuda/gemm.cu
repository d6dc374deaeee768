// The project's own GEMM, used when cuBLAS cannot be loaded: row-major, transposes, strided
// batches (blockIdx.z), C = alpha * op(A) op(B) + beta * C. 64 x 64 tiles of C per block of
// 16 x 16 threads, each thread 4 x 4 results; k in steps of 16 through shared memory.
// rounding: 0 float32 operands, 1 operands rounded to bfloat16, 2 to float16 (float32
// accumulation either way), so the mixed-precision modes give the same numbers with or without
// cuBLAS.
#include "common.cuh"
using namespace twobp;

__device__ __forceinline__ float round_operand(float v, int rounding) {
    if (rounding == 1) return bf16_to_f32(f32_to_bf16(v));
    if (rounding == 2) {
        // f16 -> f32 by arithmetic: exact for every half value
        unsigned short h = f32_to_f16(v);
        unsigned e = (h >> 10) & 0x1f, mant = h & 0x3ff;
        float mag = e == 0 ? mant * 5.9604644775390625e-8f
                  : e == 31 ? (mant ? NAN : INFINITY)
                  : __uint_as_float(((e + 112u) << 23) | (mant << 13));
        return (h & 0x8000) ? -mag : mag;
    }
    return v;
}

TWOBP_KERNEL void __launch_bounds__(256) gemm_f32(int transA, int transB, int m, int n, int k, float alpha,
                                                  const float* A, int lda, int strideA,
                                                  const float* B, int ldb, int strideB,
                                                  float beta, float* C, int ldc, int strideC, int rounding) {
    __shared__ float As[16][68];          // [k][row]; the padding keeps the columns off one bank
    __shared__ float Bs[16][68];          // [k][col]
    A += (long long) blockIdx.z * strideA;
    B += (long long) blockIdx.z * strideB;
    C += (long long) blockIdx.z * strideC;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
    const int row0 = blockIdx.y * 64, col0 = blockIdx.x * 64;
    float acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = 0.f;
    for (int p0 = 0; p0 < k; p0 += 16) {
        for (int e = tid; e < 1024; e += 256) {
            // neighbouring threads read neighbouring addresses in either layout
            int i = transA ? e % 64 : e / 16, p = transA ? e / 64 : e % 16;
            int gi = row0 + i, gp = p0 + p;
            float a = 0.f;
            if (gi < m && gp < k) a = transA ? A[(long long) gp * lda + gi] : A[(long long) gi * lda + gp];
            As[p][i] = round_operand(a, rounding);
            int j = transB ? e / 16 : e % 64, q = transB ? e % 16 : e / 64;
            int gj = col0 + j, gq = p0 + q;
            float b = 0.f;
            if (gj < n && gq < k) b = transB ? B[(long long) gj * ldb + gq] : B[(long long) gq * ldb + gj];
            Bs[q][j] = round_operand(b, rounding);
        }
        __syncthreads();
        for (int p = 0; p < 16; p++) {
            float a[4], b[4];
            for (int r = 0; r < 4; r++) a[r] = As[p][ty + 16 * r];
            for (int c = 0; c < 4; c++) b[c] = Bs[p][tx + 16 * c];
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
        }
        __syncthreads();
    }
    for (int r = 0; r < 4; r++) {
        int i = row0 + ty + 16 * r;
        if (i >= m) continue;
        for (int c = 0; c < 4; c++) {
            int j = col0 + tx + 16 * c;
            if (j >= n) continue;
            float* out = C + (long long) i * ldc + j;
            *out = beta == 0.f ? alpha * acc[r][c] : alpha * acc[r][c] + beta * *out;
        }
    }
}
