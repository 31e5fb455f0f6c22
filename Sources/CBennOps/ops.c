#include "benn_ops.h"
#include <math.h>

#if defined(__x86_64__) && defined(__linux__)
#define BENN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BENN_CLONES
#endif

BENN_CLONES
void benn_adam_update(float *restrict m, float *restrict v, const float *restrict g, float *restrict w, size_t n,
                      float beta1, float beta2, float lr_t, float eps_hat, float decay, float low, float high) {
    const float c1 = 1.0f - beta1, c2 = 1.0f - beta2, keep = 1.0f - decay;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = beta1 * m[i] + c1 * gi;
        float vi = beta2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float wi = keep * w[i] - lr_t * mi / (sqrtf(vi) + eps_hat);
        wi = wi < low ? low : wi;
        w[i] = wi > high ? high : wi;
    }
}

BENN_CLONES
void benn_sign(const float *restrict src, float *restrict dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = src[i] < 0.0f ? -1.0f : 1.0f;
}

BENN_CLONES
void benn_ste_backward(const float *restrict x, const float *restrict dy, float *restrict dx, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = fabsf(x[i]) <= 1.0f ? dy[i] : 0.0f;
}

BENN_CLONES
void benn_masked_accumulate(const float *restrict w, const float *restrict g, float *restrict acc, size_t n) {
    for (size_t i = 0; i < n; i++) acc[i] += fabsf(w[i]) <= 1.0f ? g[i] : 0.0f;
}

BENN_CLONES
void benn_affine_rows(const float *restrict x, float *restrict y, size_t rows, size_t c,
                      const float *restrict scale, const float *restrict shift) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        for (size_t j = 0; j < c; j++) yr[j] = xr[j] * scale[j] + shift[j];
    }
}

BENN_CLONES
void benn_channel_moments(const float *restrict x, size_t rows, size_t c, double *restrict sum, double *restrict sumsq) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        for (size_t j = 0; j < c; j++) {
            double v = xr[j];
            sum[j] += v;
            sumsq[j] += v * v;
        }
    }
}

BENN_CLONES
void benn_channel_grad_sums(const float *restrict dy, const float *restrict xhat, size_t rows, size_t c,
                            double *restrict sum_dy, double *restrict sum_dy_xhat) {
    for (size_t r = 0; r < rows; r++) {
        const float *g = dy + r * c, *h = xhat + r * c;
        for (size_t j = 0; j < c; j++) {
            sum_dy[j] += g[j];
            sum_dy_xhat[j] += (double)(g[j] * h[j]);
        }
    }
}

BENN_CLONES
void benn_bn_input_grad(const float *restrict dy, const float *restrict xhat, float *restrict dx, size_t rows, size_t c,
                        const float *restrict k1, const float *restrict k2, const float *restrict k3) {
    for (size_t r = 0; r < rows; r++) {
        const float *g = dy + r * c, *h = xhat + r * c;
        float *d = dx + r * c;
        for (size_t j = 0; j < c; j++) d[j] = k1[j] * g[j] - k2[j] - k3[j] * h[j];
    }
}

BENN_CLONES
void benn_relu(const float *restrict x, float *restrict y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

BENN_CLONES
void benn_relu_backward(const float *restrict x, const float *restrict dy, float *restrict dx, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}
