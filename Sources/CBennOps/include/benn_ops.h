#ifndef BENN_OPS_H
#define BENN_OPS_H
// Element-wise float loops of the training core. Written in C so that restrict and
// target_clones (AVX-512 / AVX2 / baseline, chosen by the loader from the CPU) give
// vectorised code without compiling the whole program for one CPU.
#include <stddef.h>
#include <stdint.h>

void benn_adam_update(float *m, float *v, const float *g, float *w, size_t n,
                      float beta1, float beta2, float lr_t, float eps_hat, float decay,
                      float low, float high);
void benn_sign(const float *src, float *dst, size_t n);
/// dx = dy where |x| <= 1, else 0.
void benn_ste_backward(const float *x, const float *dy, float *dx, size_t n);
/// dx = dy * (2 - 2|x|) where |x| <= 1, else 0 (Bi-Real's ApproxSign).
void benn_approxsign_backward(const float *x, const float *dy, float *dx, size_t n);
/// dx = dy * k·t·(1 - tanh²(t·x)), k = max(1/t, 1) (IR-Net's EDE), without libm calls.
void benn_ede_backward(const float *x, const float *dy, float *dx, size_t n, float t);
/// acc += g where |w| <= 1.
void benn_masked_accumulate(const float *w, const float *g, float *acc, size_t n);
/// y[r][j] = x[r][j] * scale[j] + shift[j] for rows x c.
void benn_affine_rows(const float *x, float *y, size_t rows, size_t c, const float *scale, const float *shift);
/// Per-channel sums of x and x*x (accumulated in double) over rows x c.
void benn_channel_moments(const float *x, size_t rows, size_t c, double *sum, double *sumsq);
/// Per-channel sums of dy and dy*xhat (double) over rows x c.
void benn_channel_grad_sums(const float *dy, const float *xhat, size_t rows, size_t c, double *sum_dy, double *sum_dy_xhat);
/// dx = k1[j]*dy - k2[j] - k3[j]*xhat for rows x c.
void benn_bn_input_grad(const float *dy, const float *xhat, float *dx, size_t rows, size_t c,
                        const float *k1, const float *k2, const float *k3);
/// ReActNet's RPReLU over rows x c: v = x + shift_in[j]; y = (v > 0 ? v : slope[j]*v) + shift_out[j].
/// x and y must not overlap.
void benn_rprelu(const float *x, float *y, size_t rows, size_t c,
                 const float *shift_in, const float *slope, const float *shift_out);
/// RPReLU's backward pass over rows x c, given v = x + shift_in from the forward pass:
/// g becomes dx in place (g[i] *= slope[j] where v <= 0), and the per-channel sums of the
/// incoming g (g_out), of g*v where v <= 0 (g_slope) and of dx (g_in) are added in row order.
void benn_rprelu_backward(const float *v, float *g, size_t rows, size_t c, const float *slope,
                          float *g_in, float *g_slope, float *g_out);
/// sums[j] += x[r*c + j] for every row r, in row order.
void benn_column_sums(const float *x, size_t rows, size_t c, float *sums);
/// y[r*c + j] = x[r*c + j] + b[j]. x and y may be the same.
void benn_add_rows(const float *x, float *y, size_t rows, size_t c, const float *b);
/// y = max(x, 0)
void benn_relu(const float *x, float *y, size_t n);
/// dx = x > 0 ? dy : 0
void benn_relu_backward(const float *x, const float *dy, float *dx, size_t n);

#endif

/// NHWC float im2col: rows are output pixels of `images` images, each row the taps in
/// (ky, kx) order of `c` channels; out-of-image taps read `pad_value`.
void benn_im2col_f32(const float *x, size_t images, size_t h, size_t w, size_t c, size_t kh, size_t kw,
                 size_t stride, size_t pad, float pad_value, float *cols);
/// Adds each entry of `cols` back to the input pixel it was read from (inverse of im2col).
void benn_col2im_f32(const float *cols, size_t images, size_t h, size_t w, size_t c, size_t kh, size_t kw,
                 size_t stride, size_t pad, float *dx);
/// Non-overlapping max pool (window = stride = `size`) on NHWC; `argmax` (may be NULL)
/// receives the flat input index of each output's maximum (first one on ties).
void benn_maxpool_f32(const float *x, size_t images, size_t h, size_t w, size_t c, size_t size,
                  float *y, int32_t *argmax);
