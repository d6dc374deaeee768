// Elementwise and reduction helpers (fill is a driver memset): add, scale, sum of squares, bias add and its
// gradient, strided copies (concatenating micro-batches for one p2 GEMM), and the conversion of
// GEMM operands to 16-bit.
#include "common.cuh"
using namespace twobp;

TWOBP_KERNEL void add_f32(const float* a, const float* b, float* out, int n) {
    TWOBP_FOR_EACH(i, n) out[i] = a[i] + b[i];
}

TWOBP_KERNEL void scale_f32(float* x, float s, int n) {
    TWOBP_FOR_EACH(i, n) x[i] *= s;
}

// One partial sum of squares per block; the host adds the partials in double.
TWOBP_KERNEL void sum_squares_partial(const float* x, int n, float* partial) {
    __shared__ float scratch[32];
    double acc = 0.0;
    TWOBP_FOR_EACH(i, n) {
        double v = x[i];
        acc += v * v;
    }
    float total = block_sum((float) acc, scratch);
    if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

TWOBP_KERNEL void add_row_vector(float* y, const float* bias, int rows, int cols) {
    TWOBP_FOR_EACH(i, (long long) rows * cols) y[i] += bias[i % cols];
}

// dbias[j] += sum over rows of dy[r, j]. Block (32, 8): 32 columns per block, the 8 rows of
// threads stride over the rows and meet in shared memory; the order of the sum is fixed, so the
// result does not change from run to run.
TWOBP_KERNEL void sum_rows(const float* dy, float* dbias, int rows, int cols) {
    __shared__ float part[8][33];
    const int j = blockIdx.x * 32 + threadIdx.x;
    float acc = 0.f;
    if (j < cols)
        for (int r = threadIdx.y; r < rows; r += blockDim.y) acc += dy[(long long) r * cols + j];
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && j < cols) {
        float s = 0.f;
        for (int y = 0; y < (int) blockDim.y; y++) s += part[y][threadIdx.x];
        dbias[j] += s;
    }
}

// dst[r, :cols] = src[r, :cols] for rows of different strides.
TWOBP_KERNEL void copy_2d(const float* src, int ldSrc, float* dst, int ldDst, int rows, int cols) {
    TWOBP_FOR_EACH(i, (long long) rows * cols) {
        long long r = i / cols, c = i % cols;
        dst[r * ldDst + c] = src[r * ldSrc + c];
    }
}

// batch matrices of rows x cols (row stride ld, batch stride stride) to a contiguous 16-bit copy.
TWOBP_KERNEL void convert_to_bf16(const float* src, int rows, int cols, int ld, int stride, int batch,
                                  unsigned short* dst) {
    const long long per = (long long) rows * cols;
    TWOBP_FOR_EACH(i, per * batch) {
        long long b = i / per, e = i % per, r = e / cols, c = e % cols;
        dst[i] = f32_to_bf16(src[b * stride + r * ld + c]);
    }
}

TWOBP_KERNEL void convert_to_f16(const float* src, int rows, int cols, int ld, int stride, int batch,
                                 unsigned short* dst) {
    const long long per = (long long) rows * cols;
    TWOBP_FOR_EACH(i, per * batch) {
        long long b = i / per, e = i % per, r = e / cols, c = e % cols;
        dst[i] = f32_to_f16(src[b * stride + r * ld + c]);
    }
}

// Rounds in place to what a 16-bit operand holds (bf16 or f16), for CPU-side comparisons and the
// tiled GEMM's reduced-precision mode.
TWOBP_KERNEL void round_to_bf16(float* x, int n) {
    TWOBP_FOR_EACH(i, n) x[i] = bf16_to_f32(f32_to_bf16(x[i]));
}
