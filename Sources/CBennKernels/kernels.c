// Binary (XOR-popcount) kernels with run-time dispatch between a portable scalar path,
// an AVX2 path and an AVX-512 VPOPCNTDQ path on x86, and a NEON path on AArch64. No global
// -m flags: every x86 SIMD function carries its own target attribute, and callers choose a
// path with benn_path_supported(). NEON (Advanced SIMD) is part of the AArch64 baseline, so
// its functions need no attribute; the scalar reference is built beside it on every target.
#include "benn_kernels.h"
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#define BENN_X86 1
#include <immintrin.h>
#else
#define BENN_X86 0
#endif
#if defined(__aarch64__)
#define BENN_NEON 1
#include <arm_neon.h>
#else
#define BENN_NEON 0
#endif

// Scaled outputs must round identically on every path: no implicit FMA contraction.
#pragma STDC FP_CONTRACT OFF

#if BENN_X86
#define T512 __attribute__((target("avx512f,avx512vpopcntdq,avx512bw")))
#define T256 __attribute__((target("avx2,popcnt")))
#define TPOP __attribute__((target("popcnt")))
#else
// Elsewhere only the portable scalar path is built (the compiler's own popcount).
#define TPOP
#endif
#define AINLINE static inline __attribute__((always_inline))

static inline long lmin(long a, long b) { return a < b ? a : b; }

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

static int has_popcnt(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
#if BENN_X86
        __builtin_cpu_init();
        v = __builtin_cpu_supports("popcnt") ? 1 : 0;
#else
        v = 1;
#endif
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

// ------------------------------------------------------------------------------------------
// Panel packing of B: panel p, half-word h, column c -> ((uint32_t*)panels)[(p*H + h)*64 + c]
// with H = 2*words.

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
// Shared scalar epilogue: counts x for row i, columns [jb, je) with je - jb <= 64, jb % 64 == 0.

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
// Scalar path (raw row-major B). Compiled twice: with the popcnt instruction and portable.

#define DEFINE_SCALAR_GEMM(NAME, ATTR)                                                         \
    ATTR static void NAME(const uint64_t *a, long lda, const uint64_t *b, long ldb, long words, \
                          long i0, long i1, long j0, long j1, const benn_gemm_out *o) {        \
        int32_t cnt[2][64];                                                                    \
        for (long jb = j0; jb < j1; jb += 64) {                                                \
            long je = lmin(jb + 64, j1);                                                       \
            for (long i = i0; i < i1; i += 2) {                                                \
                long mr = lmin(2, i1 - i);                                                     \
                const uint64_t *A0 = a + i * lda;                                              \
                const uint64_t *A1 = mr == 2 ? A0 + lda : A0;                                  \
                for (long j = jb; j < je; j += 2) {                                            \
                    const uint64_t *B0 = b + j * ldb;                                          \
                    const uint64_t *B1 = (j + 1 < je) ? B0 + ldb : B0;                         \
                    uint64_t c00 = 0, c01 = 0, c10 = 0, c11 = 0;                               \
                    for (long w = 0; w < words; w++) {                                         \
                        uint64_t a0 = A0[w], a1 = A1[w], b0 = B0[w], b1 = B1[w];               \
                        c00 += (uint64_t)__builtin_popcountll(a0 ^ b0);                        \
                        c01 += (uint64_t)__builtin_popcountll(a0 ^ b1);                        \
                        c10 += (uint64_t)__builtin_popcountll(a1 ^ b0);                        \
                        c11 += (uint64_t)__builtin_popcountll(a1 ^ b1);                        \
                    }                                                                          \
                    cnt[0][j - jb] = (int32_t)c00;                                             \
                    cnt[1][j - jb] = (int32_t)c10;                                             \
                    if (j + 1 < je) {                                                          \
                        cnt[0][j + 1 - jb] = (int32_t)c01;                                     \
                        cnt[1][j + 1 - jb] = (int32_t)c11;                                     \
                    }                                                                          \
                }                                                                              \
                for (long r = 0; r < mr; r++) emit_row(o, i + r, jb, je, cnt[r]);              \
            }                                                                                  \
        }                                                                                      \
    }

DEFINE_SCALAR_GEMM(gemm_scalar_popcnt, TPOP)
DEFINE_SCALAR_GEMM(gemm_scalar_portable, )

// ------------------------------------------------------------------------------------------
// AVX2 path: panel layout, 4 rows x 16 columns per micro-kernel, nibble-LUT popcount with
// byte accumulators flushed to 32-bit lanes every 31 steps.

#if BENN_X86
T256 AINLINE void k256(const int MR, const uint32_t *const *ar, const uint32_t *panel, long H,
                       int s, int32_t cnt[4][64]) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i ones8 = _mm256_set1_epi8(1);
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256i tot[4][2];
    for (int r = 0; r < MR; r++) tot[r][0] = tot[r][1] = _mm256_setzero_si256();
    long h = 0;
    while (h < H) {
        long he = lmin(h + 31, H);
        __m256i acc[4][2];
        for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
        for (; h < he; h++) {
            const uint32_t *bp = panel + h * 64 + s * 16;
            __m256i b0 = _mm256_loadu_si256((const __m256i *)bp);
            __m256i b1 = _mm256_loadu_si256((const __m256i *)(bp + 8));
            for (int r = 0; r < MR; r++) {
                __m256i av = _mm256_set1_epi32((int)ar[r][h]);
                __m256i x0 = _mm256_xor_si256(b0, av), x1 = _mm256_xor_si256(b1, av);
                __m256i c0 = _mm256_add_epi8(
                    _mm256_shuffle_epi8(lut, _mm256_and_si256(x0, m4)),
                    _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x0, 4), m4)));
                __m256i c1 = _mm256_add_epi8(
                    _mm256_shuffle_epi8(lut, _mm256_and_si256(x1, m4)),
                    _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x1, 4), m4)));
                acc[r][0] = _mm256_add_epi8(acc[r][0], c0);
                acc[r][1] = _mm256_add_epi8(acc[r][1], c1);
            }
        }
        for (int r = 0; r < MR; r++)
            for (int q = 0; q < 2; q++)
                tot[r][q] = _mm256_add_epi32(
                    tot[r][q], _mm256_madd_epi16(_mm256_maddubs_epi16(acc[r][q], ones8), ones16));
    }
    for (int r = 0; r < MR; r++) {
        _mm256_storeu_si256((__m256i *)(cnt[r] + s * 16), tot[r][0]);
        _mm256_storeu_si256((__m256i *)(cnt[r] + s * 16 + 8), tot[r][1]);
    }
}

T256 static void gemm_avx2(const uint64_t *a, long lda, const uint64_t *panels, long words,
                           long i0, long i1, long j0, long j1, const benn_gemm_out *o) {
    const long H = 2 * words;
    int32_t cnt[4][64];
    for (long p = j0 / 64; p * 64 < j1; p++) {
        long jb = p * 64, je = lmin(jb + 64, j1);
        int strips = (int)((je - jb + 15) / 16);
        const uint32_t *panel = (const uint32_t *)panels + p * H * 64;
        for (long i = i0; i < i1; i += 4) {
            long mr = lmin(4, i1 - i);
            const uint32_t *ar[4];
            for (int r = 0; r < 4; r++) ar[r] = (const uint32_t *)(a + (i + lmin(r, mr - 1)) * lda);
            for (int s = 0; s < strips; s++) {
                switch (mr) {
                case 4: k256(4, ar, panel, H, s, cnt); break;
                case 3: k256(3, ar, panel, H, s, cnt); break;
                case 2: k256(2, ar, panel, H, s, cnt); break;
                default: k256(1, ar, panel, H, s, cnt); break;
                }
            }
            for (long r = 0; r < mr; r++) emit_row(o, i + r, jb, je, cnt[r]);
        }
    }
}

// ------------------------------------------------------------------------------------------
// AVX-512 path: panel layout, 6 rows x 64 columns (4 zmm of 16 uint32 lanes) outer-product
// micro-kernel: per half-word, 4 panel vectors are XORed with a broadcast half-word of each of
// the 6 A rows, VPOPCNTD, and accumulated in 24 zmm registers.

typedef struct {
    __m512i kv;
    __mmask16 valid[4];
    __m512 scale[4], bias[4];
    int has_bias;  // without bias the product is stored as is (adding +0 would turn -0 into +0)
    __m512i thr[4];
    __mmask16 flip[4];
} epi512;

T512 AINLINE void k512(const int MR, const uint32_t *const *ar, const uint32_t *panel, long H,
                       __m512i acc[6][4]) {
    for (int r = 0; r < MR; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = _mm512_setzero_si512();
    for (long h = 0; h < H; h++) {
        const uint32_t *bp = panel + h * 64;
        __m512i b0 = _mm512_loadu_si512(bp), b1 = _mm512_loadu_si512(bp + 16);
        __m512i b2 = _mm512_loadu_si512(bp + 32), b3 = _mm512_loadu_si512(bp + 48);
        for (int r = 0; r < MR; r++) {
            __m512i av = _mm512_set1_epi32((int)ar[r][h]);
            acc[r][0] = _mm512_add_epi32(acc[r][0], _mm512_popcnt_epi32(_mm512_xor_si512(b0, av)));
            acc[r][1] = _mm512_add_epi32(acc[r][1], _mm512_popcnt_epi32(_mm512_xor_si512(b1, av)));
            acc[r][2] = _mm512_add_epi32(acc[r][2], _mm512_popcnt_epi32(_mm512_xor_si512(b2, av)));
            acc[r][3] = _mm512_add_epi32(acc[r][3], _mm512_popcnt_epi32(_mm512_xor_si512(b3, av)));
        }
    }
}

T512 AINLINE void store512(const int MR, __m512i acc[6][4], const epi512 *e,
                           const benn_gemm_out *o, long i, long jb) {
    switch (o->mode) {
    case BENN_OUT_F32:
        for (int r = 0; r < MR; r++) {
            float *out = (float *)o->out + (i + r) * o->ldc + jb;
            for (int q = 0; q < 4; q++) {
                __m512i v = _mm512_sub_epi32(e->kv, _mm512_slli_epi32(acc[r][q], 1));
                _mm512_mask_storeu_ps(out + 16 * q, e->valid[q], _mm512_cvtepi32_ps(v));
            }
        }
        break;
    case BENN_OUT_I32:
        for (int r = 0; r < MR; r++) {
            int32_t *out = (int32_t *)o->out + (i + r) * o->ldc + jb;
            for (int q = 0; q < 4; q++) {
                __m512i v = _mm512_sub_epi32(e->kv, _mm512_slli_epi32(acc[r][q], 1));
                _mm512_mask_storeu_epi32(out + 16 * q, e->valid[q], v);
            }
        }
        break;
    case BENN_OUT_SCALED:
        for (int r = 0; r < MR; r++) {
            float *out = (float *)o->out + (i + r) * o->ldc + jb;
            for (int q = 0; q < 4; q++) {
                __m512i v = _mm512_sub_epi32(e->kv, _mm512_slli_epi32(acc[r][q], 1));
                __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), e->scale[q]);
                if (e->has_bias) f = _mm512_add_ps(f, e->bias[q]);
                _mm512_mask_storeu_ps(out + 16 * q, e->valid[q], f);
            }
        }
        break;
    case BENN_OUT_THRESHOLD:
        for (int r = 0; r < MR; r++) {
            uint64_t word = 0;
            for (int q = 0; q < 4; q++) {
                __mmask16 gt = _mm512_cmpgt_epi32_mask(acc[r][q], e->thr[q]);
                __mmask16 lt = _mm512_cmplt_epi32_mask(acc[r][q], e->thr[q]);
                __mmask16 bits = (__mmask16)(((gt & ~e->flip[q]) | (lt & e->flip[q])) & e->valid[q]);
                word |= (uint64_t)bits << (16 * q);
            }
            ((uint64_t *)o->out)[(i + r) * o->ldc + jb / 64] = word;
        }
        break;
    }
}

#define BLOCK512(MR)                                                                           \
    do {                                                                                       \
        __m512i acc[6][4];                                                                     \
        k512(MR, ar, panel, H, acc);                                                           \
        store512(MR, acc, &e, o, i, jb);                                                       \
    } while (0)

T512 static void gemm_avx512(const uint64_t *a, long lda, const uint64_t *panels, long words,
                             long i0, long i1, long j0, long j1, const benn_gemm_out *o) {
    const long H = 2 * words;
    long mc = (192 * 1024) / ((words > 0 ? words : 1) * 8);
    mc = mc < 6 ? 6 : (mc / 6) * 6;
    epi512 e;
    e.kv = _mm512_set1_epi32((int)o->k);
    e.has_bias = o->bias != NULL;
    for (long ib = i0; ib < i1; ib += mc) {
        long ie = lmin(ib + mc, i1);
        for (long p = j0 / 64; p * 64 < j1; p++) {
            long jb = p * 64, nc = lmin(64, j1 - jb);
            const uint32_t *panel = (const uint32_t *)panels + p * H * 64;
            for (int q = 0; q < 4; q++) {
                long cnum = nc - 16 * q;
                e.valid[q] = cnum >= 16 ? (__mmask16)0xffff
                           : cnum <= 0 ? (__mmask16)0 : (__mmask16)((1u << cnum) - 1);
                if (o->mode == BENN_OUT_SCALED) {
                    e.scale[q] = _mm512_maskz_loadu_ps(e.valid[q], o->scale + jb + 16 * q);
                    e.bias[q] = o->bias ? _mm512_maskz_loadu_ps(e.valid[q], o->bias + jb + 16 * q)
                                        : _mm512_setzero_ps();
                } else if (o->mode == BENN_OUT_THRESHOLD) {
                    e.thr[q] = _mm512_maskz_loadu_epi32(e.valid[q], o->thresholds + jb + 16 * q);
                    __mmask16 f = 0;
                    if (o->flip)
                        for (int c = 0; c < 16 && c < cnum; c++)
                            if (o->flip[jb + 16 * q + c]) f |= (__mmask16)(1u << c);
                    e.flip[q] = f;
                }
            }
            for (long i = ib; i < ie; i += 6) {
                long mr = lmin(6, ie - i);
                const uint32_t *ar[6];
                for (int r = 0; r < 6; r++)
                    ar[r] = (const uint32_t *)(a + (i + lmin(r, mr - 1)) * lda);
                switch (mr) {
                case 6: BLOCK512(6); break;
                case 5: BLOCK512(5); break;
                case 4: BLOCK512(4); break;
                case 3: BLOCK512(3); break;
                case 2: BLOCK512(2); break;
                default: BLOCK512(1); break;
                }
            }
        }
    }
}

#endif  // BENN_X86

// ------------------------------------------------------------------------------------------
// NEON path (AArch64): panel layout, 4 rows x 16 columns per micro-kernel (4 q-registers of
// 4 uint32 columns each). Per half-word, each panel vector is XORed with a broadcast half-word
// of each A row and counted with vcntq_u8; the byte counts (at most 8 per step) are added in
// uint8 lanes for up to 31 steps (31 * 8 = 248 < 256), then folded into uint32 column totals
// with pairwise widening adds (vpaddlq_u8 -> uint16, vpadalq_u16 -> uint32; the 4 bytes of a
// uint32 lane are exactly one column's half-word).

#if BENN_NEON
AINLINE void kneon(const int MR, const uint32_t *const *ar, const uint32_t *panel, long H,
                   int s, int32_t cnt[4][64]) {
    uint32x4_t tot[4][4];
    for (int r = 0; r < MR; r++)
        for (int q = 0; q < 4; q++) tot[r][q] = vdupq_n_u32(0);
    long h = 0;
    while (h < H) {
        long he = lmin(h + 31, H);
        uint8x16_t acc[4][4];
        for (int r = 0; r < MR; r++)
            for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_u8(0);
        for (; h < he; h++) {
            const uint32_t *bp = panel + h * 64 + s * 16;
            uint32x4_t b[4];
            for (int q = 0; q < 4; q++) b[q] = vld1q_u32(bp + 4 * q);
            for (int r = 0; r < MR; r++) {
                uint32x4_t av = vdupq_n_u32(ar[r][h]);
                for (int q = 0; q < 4; q++)
                    acc[r][q] = vaddq_u8(acc[r][q],
                                         vcntq_u8(vreinterpretq_u8_u32(veorq_u32(b[q], av))));
            }
        }
        for (int r = 0; r < MR; r++)
            for (int q = 0; q < 4; q++) tot[r][q] = vpadalq_u16(tot[r][q], vpaddlq_u8(acc[r][q]));
    }
    for (int r = 0; r < MR; r++)
        for (int q = 0; q < 4; q++)
            vst1q_s32(cnt[r] + s * 16 + 4 * q, vreinterpretq_s32_u32(tot[r][q]));
}

// Vector epilogue, same results as emit_row: 4 columns at a time, the rest via emit_row.
static void emit_row_neon(const benn_gemm_out *o, long i, long jb, long je, const int32_t *cnt) {
    const long nv = (je - jb) & ~3L;  // columns handled 4 at a time
    const int32x4_t kv = vdupq_n_s32((int32_t)o->k);
    switch (o->mode) {
    case BENN_OUT_F32: {
        float *out = (float *)o->out + i * o->ldc + jb;
        for (long c = 0; c < nv; c += 4) {
            int32x4_t v = vsubq_s32(kv, vshlq_n_s32(vld1q_s32(cnt + c), 1));
            vst1q_f32(out + c, vcvtq_f32_s32(v));
        }
        break;
    }
    case BENN_OUT_I32: {
        int32_t *out = (int32_t *)o->out + i * o->ldc + jb;
        for (long c = 0; c < nv; c += 4)
            vst1q_s32(out + c, vsubq_s32(kv, vshlq_n_s32(vld1q_s32(cnt + c), 1)));
        break;
    }
    case BENN_OUT_SCALED: {
        // Product and sum rounded separately (vmulq + vaddq, never a fused fmla), as in emit_row.
        float *out = (float *)o->out + i * o->ldc + jb;
        for (long c = 0; c < nv; c += 4) {
            int32x4_t v = vsubq_s32(kv, vshlq_n_s32(vld1q_s32(cnt + c), 1));
            float32x4_t sv = vmulq_f32(vcvtq_f32_s32(v), vld1q_f32(o->scale + jb + c));
            if (o->bias) sv = vaddq_f32(sv, vld1q_f32(o->bias + jb + c));
            vst1q_f32(out + c, sv);
        }
        break;
    }
    case BENN_OUT_THRESHOLD: {
        static const uint32_t lanebit[4] = {1, 2, 4, 8};
        const uint32x4_t lb = vld1q_u32(lanebit);
        uint64_t word = 0;
        for (long c = 0; c < nv; c += 4) {
            int32x4_t x = vld1q_s32(cnt + c), t = vld1q_s32(o->thresholds + jb + c);
            uint32x4_t bits = vcgtq_s32(x, t);
            if (o->flip) {
                const uint8_t *fp = o->flip + jb + c;
                const uint32_t f4[4] = {fp[0], fp[1], fp[2], fp[3]};
                uint32x4_t f = vld1q_u32(f4);
                bits = vbslq_u32(vtstq_u32(f, f), vcltq_s32(x, t), bits);
            }
            word |= (uint64_t)vaddvq_u32(vandq_u32(bits, lb)) << c;
        }
        for (long j = jb + nv; j < je; j++) {
            int32_t x = cnt[j - jb], t = o->thresholds[j];
            int bit = (o->flip && o->flip[j]) ? (x < t) : (x > t);
            word |= (uint64_t)bit << (j - jb);
        }
        ((uint64_t *)o->out)[i * o->ldc + jb / 64] = word;
        return;
    }
    }
    if (jb + nv < je) emit_row(o, i, jb + nv, je, cnt + nv);
}

static void gemm_neon(const uint64_t *a, long lda, const uint64_t *panels, long words,
                      long i0, long i1, long j0, long j1, const benn_gemm_out *o) {
    const long H = 2 * words;
    int32_t cnt[4][64];
    for (long p = j0 / 64; p * 64 < j1; p++) {
        long jb = p * 64, je = lmin(jb + 64, j1);
        int strips = (int)((je - jb + 15) / 16);
        const uint32_t *panel = (const uint32_t *)panels + p * H * 64;
        for (long i = i0; i < i1; i += 4) {
            long mr = lmin(4, i1 - i);
            const uint32_t *ar[4];
            for (int r = 0; r < 4; r++) ar[r] = (const uint32_t *)(a + (i + lmin(r, mr - 1)) * lda);
            for (int s = 0; s < strips; s++) {
                switch (mr) {
                case 4: kneon(4, ar, panel, H, s, cnt); break;
                case 3: kneon(3, ar, panel, H, s, cnt); break;
                case 2: kneon(2, ar, panel, H, s, cnt); break;
                default: kneon(1, ar, panel, H, s, cnt); break;
                }
            }
            for (long r = 0; r < mr; r++) emit_row_neon(o, i + r, jb, je, cnt[r]);
        }
    }
}
#endif  // BENN_NEON

void benn_gemm_tile(int path, const uint64_t *a, long lda,
                    const uint64_t *b, long ldb, const uint64_t *panels,
                    long n, long words, long i0, long i1, long j0, long j1,
                    const benn_gemm_out *o) {
    (void)n;
    if (i0 >= i1 || j0 >= j1) return;
    switch (path) {
#if BENN_X86
    case BENN_PATH_AVX512: gemm_avx512(a, lda, panels, words, i0, i1, j0, j1, o); break;
    case BENN_PATH_AVX2: gemm_avx2(a, lda, panels, words, i0, i1, j0, j1, o); break;
#endif
#if BENN_NEON
    case BENN_PATH_NEON: gemm_neon(a, lda, panels, words, i0, i1, j0, j1, o); break;
#endif
    default:
        if (has_popcnt()) gemm_scalar_popcnt(a, lda, b, ldb, words, i0, i1, j0, j1, o);
        else gemm_scalar_portable(a, lda, b, ldb, words, i0, i1, j0, j1, o);
        break;
    }
}

// ------------------------------------------------------------------------------------------
// Float -> bit packing.

static void pack_scalar(const float *src, long rows, long cols, long ss, uint64_t *dst, long ds) {
    long nw = (cols + 63) / 64;
    for (long r = 0; r < rows; r++) {
        const float *s = src + r * ss;
        uint64_t *d = dst + r * ds;
        for (long w = 0; w < nw; w++) {
            uint64_t word = 0;
            long e = lmin(64, cols - w * 64);
            for (long b = 0; b < e; b++) word |= (uint64_t)(s[w * 64 + b] < 0.0f) << b;
            d[w] = word;
        }
    }
}

#if BENN_X86
T256 static void pack_avx2(const float *src, long rows, long cols, long ss, uint64_t *dst, long ds) {
    long nw = (cols + 63) / 64;
    const __m256 z = _mm256_setzero_ps();
    for (long r = 0; r < rows; r++) {
        const float *s = src + r * ss;
        uint64_t *d = dst + r * ds;
        for (long w = 0; w < nw; w++) {
            long e = lmin(64, cols - w * 64);
            const float *sw = s + w * 64;
            uint64_t word = 0;
            if (e == 64) {
                for (int g = 0; g < 8; g++) {
                    __m256 v = _mm256_loadu_ps(sw + 8 * g);
                    uint32_t m = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(v, z, _CMP_LT_OQ));
                    word |= (uint64_t)m << (8 * g);
                }
            } else {
                for (long b = 0; b < e; b++) word |= (uint64_t)(sw[b] < 0.0f) << b;
            }
            d[w] = word;
        }
    }
}

T512 static void pack_avx512(const float *src, long rows, long cols, long ss, uint64_t *dst, long ds) {
    long nw = (cols + 63) / 64;
    const __m512 z = _mm512_setzero_ps();
    for (long r = 0; r < rows; r++) {
        const float *s = src + r * ss;
        uint64_t *d = dst + r * ds;
        for (long w = 0; w < nw; w++) {
            long e = lmin(64, cols - w * 64);
            const float *sw = s + w * 64;
            uint64_t word = 0;
            for (int g = 0; g < 4; g++) {
                long c = e - 16 * g;
                __mmask16 lm = c >= 16 ? (__mmask16)0xffff
                             : c <= 0 ? (__mmask16)0 : (__mmask16)((1u << c) - 1);
                __m512 v = _mm512_maskz_loadu_ps(lm, sw + 16 * g);
                __mmask16 m = _mm512_mask_cmp_ps_mask(lm, v, z, _CMP_LT_OQ);
                word |= (uint64_t)m << (16 * g);
            }
            d[w] = word;
        }
    }
}

#endif  // BENN_X86

#if BENN_NEON
// 16 floats per step: four vcltq_f32 masks narrowed to 16 mask bytes, weighted by their bit
// value and summed per half (vaddv_u8) into 16 bits. NaN and -0 compare false, as in C.
static void pack_neon(const float *src, long rows, long cols, long ss, uint64_t *dst, long ds) {
    static const uint8_t weights[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t wv = vld1q_u8(weights);
    const float32x4_t z = vdupq_n_f32(0.0f);
    long nw = (cols + 63) / 64;
    for (long r = 0; r < rows; r++) {
        const float *s = src + r * ss;
        uint64_t *d = dst + r * ds;
        for (long w = 0; w < nw; w++) {
            long e = lmin(64, cols - w * 64);
            const float *sw = s + w * 64;
            uint64_t word = 0;
            long g = 0;
            for (; 16 * g + 16 <= e; g++) {
                const float *p = sw + 16 * g;
                uint16x8_t m01 = vcombine_u16(vmovn_u32(vcltq_f32(vld1q_f32(p), z)),
                                              vmovn_u32(vcltq_f32(vld1q_f32(p + 4), z)));
                uint16x8_t m23 = vcombine_u16(vmovn_u32(vcltq_f32(vld1q_f32(p + 8), z)),
                                              vmovn_u32(vcltq_f32(vld1q_f32(p + 12), z)));
                uint8x16_t m = vandq_u8(vcombine_u8(vmovn_u16(m01), vmovn_u16(m23)), wv);
                uint64_t bits = (uint64_t)vaddv_u8(vget_low_u8(m)) |
                                ((uint64_t)vaddv_u8(vget_high_u8(m)) << 8);
                word |= bits << (16 * g);
            }
            for (long b = 16 * g; b < e; b++) word |= (uint64_t)(sw[b] < 0.0f) << b;
            d[w] = word;
        }
    }
}
#endif  // BENN_NEON

void benn_pack_f32(int path, const float *src, long rows, long cols, long src_stride,
                   uint64_t *dst, long dst_stride) {
    if (rows <= 0 || cols <= 0) return;
    switch (path) {
#if BENN_X86
    case BENN_PATH_AVX512: pack_avx512(src, rows, cols, src_stride, dst, dst_stride); break;
    case BENN_PATH_AVX2: pack_avx2(src, rows, cols, src_stride, dst, dst_stride); break;
#endif
#if BENN_NEON
    case BENN_PATH_NEON: pack_neon(src, rows, cols, src_stride, dst, dst_stride); break;
#endif
    default: pack_scalar(src, rows, cols, src_stride, dst, dst_stride); break;
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
