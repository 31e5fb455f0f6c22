// The public C API: run-time choice between the paths (scalar reference in kernels_scalar.c,
// one kernels_<isa>.c per instruction set) and the layout glue every path shares: B's column
// panels and packed im2col. The caller (BennKernels' KernelSelection) picks the path; this file
// only reports what the CPU can run and routes each call.
#include "kernels_internal.h"
#include <string.h>

int benn_path_supported(int path) {
#if BENN_NEON
    return path == BENN_PATH_SCALAR || path == BENN_PATH_NEON;
#elif !BENN_X86
    return path == BENN_PATH_SCALAR;
#else
    __builtin_cpu_init();
    switch (path) {
    case BENN_PATH_SCALAR: return 1;
    case BENN_PATH_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
    case BENN_PATH_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("popcnt");
    default: return 0;
    }
#endif
}

// ------------------------------------------------------------------------------------------
// Panel packing of B, the layout every SIMD path reads, so that the 64 columns of one
// half-word are contiguous: panel p, half-word h, column c ->
// ((uint32_t*)panels)[(p*H + h)*64 + c] with H = 2*words.

size_t benn_panel_buffer_words(long n, long words) {
    long panels = (n + BENN_PANEL_COLS - 1) / BENN_PANEL_COLS;
    return (size_t)panels * (size_t)words * BENN_PANEL_COLS;
}

void benn_pack_panels(const uint64_t *b, long ldb, long n, long words,
                      uint64_t *panels, long p0, long p1) {
    const long H = 2 * words;
    uint32_t *dst = (uint32_t *)panels;
    for (long p = p0; p < p1; p++) {
        uint32_t *pd = dst + p * H * 64;
        for (long c = 0; c < 64; c++) {
            long j = p * 64 + c;
            if (j < n) {
                const uint32_t *src = (const uint32_t *)(b + j * ldb);
                for (long h = 0; h < H; h++) pd[h * 64 + c] = src[h];
            } else {
                for (long h = 0; h < H; h++) pd[h * 64 + c] = 0;
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Dispatch. Any path this build does not know falls to the scalar reference.

void benn_gemm_tile(int path, const uint64_t *a, long lda,
                    const uint64_t *b, long ldb, const uint64_t *panels,
                    long n, long words, long i0, long i1, long j0, long j1,
                    const benn_gemm_out *o) {
    (void)n;
    if (i0 >= i1 || j0 >= j1) return;
    switch (path) {
#if BENN_X86
    case BENN_PATH_AVX512: bennk_gemm_avx512(a, lda, panels, words, i0, i1, j0, j1, o); break;
    case BENN_PATH_AVX2: bennk_gemm_avx2(a, lda, panels, words, i0, i1, j0, j1, o); break;
#endif
#if BENN_NEON
    case BENN_PATH_NEON: bennk_gemm_neon(a, lda, panels, words, i0, i1, j0, j1, o); break;
#endif
    default: bennk_gemm_scalar(a, lda, b, ldb, words, i0, i1, j0, j1, o); break;
    }
}

void benn_pack_f32(int path, const float *src, long rows, long cols, long src_stride,
                   uint64_t *dst, long dst_stride) {
    if (rows <= 0 || cols <= 0) return;
    switch (path) {
#if BENN_X86
    case BENN_PATH_AVX512: bennk_pack_avx512(src, rows, cols, src_stride, dst, dst_stride); break;
    case BENN_PATH_AVX2: bennk_pack_avx2(src, rows, cols, src_stride, dst, dst_stride); break;
#endif
#if BENN_NEON
    case BENN_PATH_NEON: bennk_pack_neon(src, rows, cols, src_stride, dst, dst_stride); break;
#endif
    default: bennk_pack_scalar(src, rows, cols, src_stride, dst, dst_stride); break;
    }
}

// ------------------------------------------------------------------------------------------
// Packed im2col.

void benn_im2col(const uint64_t *src, long batch, long height, long width, long wpp,
                 long kh, long kw, long sh, long sw, long ph, long pw,
                 long out_h, long out_w, uint64_t *dst) {
    const size_t tap = (size_t)wpp * sizeof(uint64_t);
    for (long nb = 0; nb < batch; nb++) {
        for (long oy = 0; oy < out_h; oy++) {
            for (long ox = 0; ox < out_w; ox++) {
                for (long ky = 0; ky < kh; ky++) {
                    long y = oy * sh - ph + ky;
                    if (y < 0 || y >= height) {
                        memset(dst, 0, tap * (size_t)kw);
                        dst += kw * wpp;
                        continue;
                    }
                    const uint64_t *rowp = src + (nb * height + y) * width * wpp;
                    long x0 = ox * sw - pw;
                    if (x0 >= 0 && x0 + kw <= width) {
                        memcpy(dst, rowp + x0 * wpp, tap * (size_t)kw);
                        dst += kw * wpp;
                        continue;
                    }
                    for (long kx = 0; kx < kw; kx++) {
                        long x = x0 + kx;
                        if (x < 0 || x >= width) memset(dst, 0, tap);
                        else memcpy(dst, rowp + x * wpp, tap);
                        dst += wpp;
                    }
                }
            }
        }
    }
}
