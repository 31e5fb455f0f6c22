// Internal to CBennKernels: what the per-instruction-set files share. Each kernels_<isa>.c
// holds only its micro-kernels and instantiates the shared drivers below with its own target
// attribute; kernels_driver.c chooses between them at run time. No global -m flags, so that a
// binary built here runs on any CPU of the architecture.
#pragma once
#include "benn_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define BENN_X86 1
#else
#define BENN_X86 0
#endif
#if defined(__aarch64__)
#define BENN_NEON 1
#else
#define BENN_NEON 0
#endif

// Scaled outputs must round identically on every path: no implicit FMA contraction. Here so
// that every file that includes this header gets it (GCC ignores it: build with -ffp-contract=off).
#pragma STDC FP_CONTRACT OFF

// The micro-kernels take MR as a constant argument and rely on being inlined into each case
// of a switch over MR, so that every row count gets its own fully unrolled copy.
#define AINLINE static inline __attribute__((always_inline))
// The per-path entry points are linked into one executable with other C targets (CBennOps has
// an im2col too): prefixed so that they cannot clash, hidden so that they stay internal.
#define BENN_HIDDEN __attribute__((visibility("hidden")))

static inline long lmin(long a, long b) { return a < b ? a : b; }

// ------------------------------------------------------------------------------------------
// Per-path entry points, chosen by benn_gemm_tile / benn_pack_f32 in kernels_driver.c.
// Scalar reads row-major B; the SIMD paths read the panel layout of benn_pack_panels.

BENN_HIDDEN void bennk_gemm_scalar(const uint64_t *a, long lda, const uint64_t *b, long ldb,
                                   long words, long i0, long i1, long j0, long j1,
                                   const benn_gemm_out *o);
BENN_HIDDEN void bennk_pack_scalar(const float *src, long rows, long cols, long ss,
                                   uint64_t *dst, long ds);
#if BENN_X86
BENN_HIDDEN void bennk_gemm_avx2(const uint64_t *a, long lda, const uint64_t *panels, long words,
                                 long i0, long i1, long j0, long j1, const benn_gemm_out *o);
BENN_HIDDEN void bennk_pack_avx2(const float *src, long rows, long cols, long ss,
                                 uint64_t *dst, long ds);
BENN_HIDDEN void bennk_gemm_avx512(const uint64_t *a, long lda, const uint64_t *panels, long words,
                                   long i0, long i1, long j0, long j1, const benn_gemm_out *o);
BENN_HIDDEN void bennk_pack_avx512(const float *src, long rows, long cols, long ss,
                                   uint64_t *dst, long ds);
#endif
#if BENN_NEON
BENN_HIDDEN void bennk_gemm_neon(const uint64_t *a, long lda, const uint64_t *panels, long words,
                                 long i0, long i1, long j0, long j1, const benn_gemm_out *o);
BENN_HIDDEN void bennk_pack_neon(const float *src, long rows, long cols, long ss,
                                 uint64_t *dst, long ds);
#endif

// ------------------------------------------------------------------------------------------
// Scalar epilogue: counts x for row i, columns [jb, je) with je - jb <= 64, jb % 64 == 0.
// The reference every vector epilogue must match bit for bit, and the tail of the ones that
// only handle whole vectors.

static inline void emit_row(const benn_gemm_out *o, long i, long jb, long je, const int32_t *cnt) {
    const int32_t k = (int32_t)o->k;
    switch (o->mode) {
    case BENN_OUT_F32: {
        float *out = (float *)o->out + i * o->ldc;
        for (long j = jb; j < je; j++) out[j] = (float)(k - 2 * cnt[j - jb]);
        break;
    }
    case BENN_OUT_I32: {
        int32_t *out = (int32_t *)o->out + i * o->ldc;
        for (long j = jb; j < je; j++) out[j] = k - 2 * cnt[j - jb];
        break;
    }
    case BENN_OUT_SCALED: {
        float *out = (float *)o->out + i * o->ldc;
        for (long j = jb; j < je; j++) {
            float v = (float)(k - 2 * cnt[j - jb]);
            float sv = v * o->scale[j];
            out[j] = o->bias ? sv + o->bias[j] : sv;
        }
        break;
    }
    case BENN_OUT_THRESHOLD: {
        uint64_t word = 0;
        for (long j = jb; j < je; j++) {
            int32_t x = cnt[j - jb], t = o->thresholds[j];
            int bit = (o->flip && o->flip[j]) ? (x < t) : (x > t);
            word |= (uint64_t)bit << (j - jb);
        }
        ((uint64_t *)o->out)[i * o->ldc + jb / 64] = word;
        break;
    }
    }
}

// ------------------------------------------------------------------------------------------
// Strip driver over the panel layout, for micro-kernels of up to 4 rows x 16 columns (AVX2,
// NEON). For each 64-column panel and each block of 4 rows, KERNEL(MR, ar, panel, H, s, cnt)
// fills columns [16s, 16s + 16) of cnt[0..MR) for strip s; EMIT(o, i, jb, je, cnt[r]) then
// writes row i. Rows past the edge repeat the last row, so the kernels need no row tails; a
// partial panel's unused strips are skipped, and the zero-filled panel columns inside the last
// strip are counted but never emitted. A macro rather than an inline function so that each
// instance carries its ISA's target attribute (ATTR), which the always_inline KERNEL needs in
// its caller.

#define DEFINE_STRIP_GEMM(NAME, ATTR, KERNEL, EMIT)                                            \
    ATTR void NAME(const uint64_t *a, long lda, const uint64_t *panels, long words,            \
                   long i0, long i1, long j0, long j1, const benn_gemm_out *o) {               \
        const long H = 2 * words;                                                              \
        int32_t cnt[4][64];                                                                    \
        for (long p = j0 / 64; p * 64 < j1; p++) {                                             \
            long jb = p * 64, je = lmin(jb + 64, j1);                                          \
            int strips = (int)((je - jb + 15) / 16);                                           \
            const uint32_t *panel = (const uint32_t *)panels + p * H * 64;                     \
            for (long i = i0; i < i1; i += 4) {                                                \
                long mr = lmin(4, i1 - i);                                                     \
                const uint32_t *ar[4];                                                         \
                for (int r = 0; r < 4; r++)                                                    \
                    ar[r] = (const uint32_t *)(a + (i + lmin(r, mr - 1)) * lda);               \
                for (int s = 0; s < strips; s++) {                                             \
                    switch (mr) {                                                              \
                    case 4: KERNEL(4, ar, panel, H, s, cnt); break;                            \
                    case 3: KERNEL(3, ar, panel, H, s, cnt); break;                            \
                    case 2: KERNEL(2, ar, panel, H, s, cnt); break;                            \
                    default: KERNEL(1, ar, panel, H, s, cnt); break;                           \
                    }                                                                          \
                }                                                                              \
                for (long r = 0; r < mr; r++) EMIT(o, i + r, jb, je, cnt[r]);                  \
            }                                                                                  \
        }                                                                                      \
    }

// ------------------------------------------------------------------------------------------
// Float -> bit packing driver: WORD(sw, e) packs the e <= 64 floats at sw into one word (bit b
// set iff sw[b] < 0, bits >= e zero). Instantiated per ISA for its target attribute, as above.

#define DEFINE_PACK_F32(NAME, ATTR, WORD)                                                      \
    ATTR void NAME(const float *src, long rows, long cols, long ss, uint64_t *dst, long ds) { \
        long nw = (cols + 63) / 64;                                                            \
        for (long r = 0; r < rows; r++) {                                                      \
            const float *s = src + r * ss;                                                     \
            uint64_t *d = dst + r * ds;                                                        \
            for (long w = 0; w < nw; w++) d[w] = WORD(s + w * 64, lmin(64, cols - w * 64));    \
        }                                                                                      \
    }

// Bits [b0, e) of a packed word, one float at a time: the scalar path's whole word and the
// tail of the vector paths. `< 0.0f` is false for NaN and -0, the encoding's sign(0) = +1.
static inline uint64_t pack_bits(const float *sw, long b0, long e) {
    uint64_t word = 0;
    for (long b = b0; b < e; b++) word |= (uint64_t)(sw[b] < 0.0f) << b;
    return word;
}
