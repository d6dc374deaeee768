// Rotary position embedding, in place: one thread per rotated pair.
#include "common.cuh"
using namespace twobp;

// Heads of width headDim start at column col of rows of length ld; row r holds position
// r % seqLen; cosSin [seqLen, headDim/2, 2]; sign -1 rotates back (the backward).
TWOBP_KERNEL void rope(float* x, int col, int ld, int rows, int seqLen, int heads, int headDim,
                       const float* cosSin, float sign) {
    const int half = headDim / 2;
    TWOBP_FOR_EACH(t, (long long) rows * heads * half) {
        const int i = (int) (t % half);
        const long long rh = t / half;
        const int h = (int) (rh % heads);
        const long long r = rh / heads;
        const int pos = (int) (r % seqLen);
        const float cs = cosSin[(pos * half + i) * 2], sn = sign * cosSin[(pos * half + i) * 2 + 1];
        float* p = x + r * ld + col + (long long) h * headDim + 2 * i;
        const float x0 = p[0], x1 = p[1];
        p[0] = x0 * cs - x1 * sn;
        p[1] = x0 * sn + x1 * cs;
    }
}
