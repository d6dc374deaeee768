// Token embedding: gather rows of the table (forward) and scatter-add into its gradient (p2).
// Token ids were checked against the table size on the host before they were copied here.
#include "common.cuh"
using namespace twobp;

TWOBP_KERNEL void embedding_forward(const float* table, const int* tokens, float* out, int rows, int c) {
    TWOBP_FOR_EACH(i, (long long) rows * c) {
        const long long r = i / c, j = i % c;
        out[i] = table[(long long) tokens[r] * c + j];
    }
}

// One thread per column walks the rows in order: repeated tokens add up without atomics, in the
// same order every run (and as the CPU backend does).
TWOBP_KERNEL void embedding_backward(const float* dout, const int* tokens, float* dtable, int rows, int c) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= c) return;
    for (int r = 0; r < rows; r++) dtable[(long long) tokens[r] * c + j] += dout[(long long) r * c + j];
}
