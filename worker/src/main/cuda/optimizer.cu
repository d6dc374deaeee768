// Optimizer updates over flat parameter slices; the float32 master weights and moments are
// updated in place.
#include "common.cuh"
using namespace twobp;

// bc1 = 1 - beta1^step and bc2 = 1 - beta2^step come from the host (in double there).
TWOBP_KERNEL void adamw(float* p, const float* g, float* m, float* v, float lr, float beta1, float beta2, float eps,
                        float weightDecay, float gradScale, float bc1, float bc2, int n) {
    TWOBP_FOR_EACH(i, n) {
        const float grad = g[i] * gradScale;
        const float mi = beta1 * m[i] + (1.f - beta1) * grad;
        const float vi = beta2 * v[i] + (1.f - beta2) * grad * grad;
        m[i] = mi;
        v[i] = vi;
        const float w = p[i];
        p[i] = w - lr * ((mi / bc1) / (sqrtf(vi / bc2) + eps) + weightDecay * w);
    }
}

TWOBP_KERNEL void sgd(float* p, const float* g, float* buf, float lr, float momentum, float weightDecay,
                      float gradScale, int nesterov, int n) {
    TWOBP_FOR_EACH(i, n) {
        const float w = p[i];
        const float grad = g[i] * gradScale + weightDecay * w;
        const float b = momentum * buf[i] + grad;
        buf[i] = b;
        p[i] = w - lr * (nesterov ? grad + momentum * b : b);
    }
}
