// SwiGLU and GELU (tanh approximation), forward and p1.
#include "common.cuh"
using namespace twobp;

// gateUp [rows, 2f] holds gate then up; out [rows, f] = silu(gate) * up.
TWOBP_KERNEL void swiglu_forward(const float* gu, float* out, int rows, int f) {
    TWOBP_FOR_EACH(i, (long long) rows * f) {
        const long long r = i / f, j = i % f;
        const float g = gu[r * 2 * f + j], u = gu[r * 2 * f + f + j];
        out[i] = g * fast_sigmoid(g) * u;
    }
}

TWOBP_KERNEL void swiglu_backward(const float* dout, const float* gu, float* dgu, int rows, int f) {
    TWOBP_FOR_EACH(i, (long long) rows * f) {
        const long long r = i / f, j = i % f;
        const float g = gu[r * 2 * f + j], u = gu[r * 2 * f + f + j];
        const float sig = fast_sigmoid(g), d = dout[i];
        dgu[r * 2 * f + j] = d * u * sig * (1.f + g * (1.f - sig));
        dgu[r * 2 * f + f + j] = d * g * sig;
    }
}

#define GELU_K 0.7978845608028654f

TWOBP_KERNEL void gelu_forward(const float* x, float* out, int n) {
    TWOBP_FOR_EACH(i, n) {
        const float v = x[i];
        out[i] = 0.5f * v * (1.f + fast_tanh(GELU_K * (v + 0.044715f * v * v * v)));
    }
}

TWOBP_KERNEL void gelu_backward(const float* dout, const float* x, float* dx, int n) {
    TWOBP_FOR_EACH(i, n) {
        const float v = x[i];
        const float th = fast_tanh(GELU_K * (v + 0.044715f * v * v * v));
        const float grad = 0.5f * (1.f + th) + 0.5f * v * (1.f - th * th) * GELU_K * (1.f + 3.f * 0.044715f * v * v);
        dx[i] = dout[i] * grad;
    }
}
