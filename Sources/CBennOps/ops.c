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

#include <string.h>

/* The kw taps of one kernel row read kw consecutive input pixels, whatever the stride, so
 * each kernel row is one run: padding on the left, one copy (or one add loop) of the pixels
 * inside the image, padding on the right: fewer calls and loop starts than one per tap,
 * which cost most for the few channels of a first layer. */
/* The kernel row of output column ox: its taps lo..<hi fall inside the image, the first of
 * them at input column x0 (meaningful when hi > lo). */
struct tap_span { size_t lo, hi, x0; };
static inline struct tap_span row_span(size_t ox, size_t stride, size_t pad, size_t kw, size_t w) {
    const long ix0 = (long)(ox * stride) - (long)pad;
    const long first = ix0 < 0 ? -ix0 : 0;
    const long last = ix0 + (long)kw > (long)w ? (long)w - ix0 : (long)kw;
    struct tap_span sp;
    sp.lo = (size_t)(first < (long)kw ? first : (long)kw);
    sp.hi = last > (long)sp.lo ? (size_t)last : sp.lo;
    sp.x0 = (size_t)(ix0 + (long)sp.lo);
    return sp;
}

void benn_im2col_f32(const float *restrict x, size_t images, size_t h, size_t w, size_t c, size_t kh, size_t kw,
                 size_t stride, size_t pad, float pad_value, float *restrict cols) {
    const size_t oh = (h + 2 * pad - kh) / stride + 1, ow = (w + 2 * pad - kw) / stride + 1;
    const size_t run = kw * c;
    float *dst = cols;
    for (size_t n = 0; n < images; n++) {
        const float *img = x + n * h * w * c;
        for (size_t oy = 0; oy < oh; oy++) {
            for (size_t ox = 0; ox < ow; ox++) {
                const struct tap_span sp = row_span(ox, stride, pad, kw, w);
                for (size_t ky = 0; ky < kh; ky++) {
                    const long iy = (long)(oy * stride + ky) - (long)pad;
                    if (iy < 0 || iy >= (long)h) {
                        for (size_t j = 0; j < run; j++) dst[j] = pad_value;
                    } else {
                        for (size_t j = 0; j < sp.lo * c; j++) dst[j] = pad_value;
                        if (sp.hi > sp.lo) memcpy(dst + sp.lo * c, img + ((size_t)iy * w + sp.x0) * c, (sp.hi - sp.lo) * c * sizeof(float));
                        for (size_t j = sp.hi * c; j < run; j++) dst[j] = pad_value;
                    }
                    dst += run;
                }
            }
        }
    }
}

BENN_CLONES
void benn_col2im_f32(const float *restrict cols, size_t images, size_t h, size_t w, size_t c, size_t kh, size_t kw,
                 size_t stride, size_t pad, float *restrict dx) {
    const size_t oh = (h + 2 * pad - kh) / stride + 1, ow = (w + 2 * pad - kw) / stride + 1;
    const size_t run = kw * c;
    const float *src = cols;
    for (size_t n = 0; n < images; n++) {
        float *img = dx + n * h * w * c;
        for (size_t oy = 0; oy < oh; oy++) {
            for (size_t ox = 0; ox < ow; ox++) {
                const struct tap_span sp = row_span(ox, stride, pad, kw, w);
                for (size_t ky = 0; ky < kh; ky++) {
                    const long iy = (long)(oy * stride + ky) - (long)pad;
                    if (iy >= 0 && iy < (long)h && sp.hi > sp.lo) {
                        /* One row's taps are distinct pixels: each gets one addition here, in
                         * the same order across rows as a tap-by-tap loop. */
                        float *d = img + ((size_t)iy * w + sp.x0) * c;
                        const float *s = src + sp.lo * c;
                        for (size_t j = 0; j < (sp.hi - sp.lo) * c; j++) d[j] += s[j];
                    }
                    src += run;
                }
            }
        }
    }
}

BENN_CLONES
void benn_maxpool_f32(const float *restrict x, size_t images, size_t h, size_t w, size_t c, size_t size,
                  float *restrict y, int32_t *restrict argmax) {
    const size_t oh = h / size, ow = w / size;
    for (size_t b = 0; b < images; b++) {
        for (size_t oy = 0; oy < oh; oy++) {
            for (size_t ox = 0; ox < ow; ox++) {
                float *out = y + ((b * oh + oy) * ow + ox) * c;
                int32_t *am = argmax ? argmax + ((b * oh + oy) * ow + ox) * c : NULL;
                const size_t first = ((b * h + oy * size) * w + ox * size) * c;
                for (size_t j = 0; j < c; j++) out[j] = x[first + j];
                if (am) for (size_t j = 0; j < c; j++) am[j] = (int32_t)(first + j);
                for (size_t dy = 0; dy < size; dy++) {
                    for (size_t dxp = 0; dxp < size; dxp++) {
                        if (dy == 0 && dxp == 0) continue;
                        const size_t src = ((b * h + oy * size + dy) * w + ox * size + dxp) * c;
                        if (am) {
                            for (size_t j = 0; j < c; j++) {
                                const float v = x[src + j];
                                const int better = v > out[j];
                                out[j] = better ? v : out[j];
                                am[j] = better ? (int32_t)(src + j) : am[j];
                            }
                        } else {
                            for (size_t j = 0; j < c; j++) out[j] = x[src + j] > out[j] ? x[src + j] : out[j];
                        }
                    }
                }
            }
        }
    }
}

BENN_CLONES
void benn_approxsign_backward(const float *restrict x, const float *restrict dy, float *restrict dx, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        dx[i] = a <= 1.0f ? dy[i] * (2.0f - 2.0f * a) : 0.0f;
    }
}

/* exp(y) for y <= 0 by range reduction y = k·ln2 + r, |r| <= ln2/2, and a degree-6
   polynomial; plain IEEE operations (no libm call) so the loop vectorises and every
   CPU path computes the same value. Relative error about 2e-7; underflows to 0 below -87. */
static inline float benn_exp_nonpositive(float y) {
    if (y < -87.0f) return 0.0f;
    const float log2e = 1.44269504f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    float k = __builtin_floorf(y * log2e + 0.5f);
    float r = (y - k * ln2_hi) - k * ln2_lo;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f + r * (4.1666668e-2f + r * (8.3333338e-3f + r * 1.3888889e-3f)))));
    int e = (int)k;
    union { float f; int i; } scale = { .i = (e + 127) << 23 };
    return p * scale.f;
}

BENN_CLONES
void benn_ede_backward(const float *restrict x, const float *restrict dy, float *restrict dx, size_t n, float t) {
    /* k·t·(1 - tanh²(t·x)) = k·t·4·e^{-2|tx|} / (1 + e^{-2|tx|})², k = max(1/t, 1). */
    const float kt = (t < 1.0f ? 1.0f : t);
    for (size_t i = 0; i < n; i++) {
        float e = benn_exp_nonpositive(-2.0f * fabsf(t * x[i]));
        float d = 1.0f + e;
        dx[i] = dy[i] * (kt * (4.0f * e / (d * d)));
    }
}

BENN_CLONES
void benn_rprelu(const float *restrict x, float *restrict y, size_t rows, size_t c,
                 const float *restrict shift_in, const float *restrict slope, const float *restrict shift_out) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        for (size_t j = 0; j < c; j++) {
            float v = xr[j] + shift_in[j];
            yr[j] = (v > 0.0f ? v : slope[j] * v) + shift_out[j];
        }
    }
}

BENN_CLONES
void benn_rprelu_backward(const float *restrict v, float *restrict g, size_t rows, size_t c, const float *restrict slope,
                          float *restrict g_in, float *restrict g_slope, float *restrict g_out) {
    for (size_t r = 0; r < rows; r++) {
        const float *vr = v + r * c;
        float *gr = g + r * c;
        for (size_t j = 0; j < c; j++) {
            float gi = gr[j];
            int negative = vr[j] <= 0.0f;
            g_out[j] += gi;
            g_slope[j] += negative ? gi * vr[j] : 0.0f;
            gi = negative ? gi * slope[j] : gi;
            gr[j] = gi;
            g_in[j] += gi;
        }
    }
}

BENN_CLONES
void benn_column_sums(const float *restrict x, size_t rows, size_t c, float *restrict sums) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        for (size_t j = 0; j < c; j++) sums[j] += xr[j];
    }
}

BENN_CLONES
void benn_add_rows(const float *x, float *y, size_t rows, size_t c, const float *restrict b) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        for (size_t j = 0; j < c; j++) yr[j] = xr[j] + b[j];
    }
}
