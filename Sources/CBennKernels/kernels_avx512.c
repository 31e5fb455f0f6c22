// AVX-512 path (x86-64 with AVX-512F, AVX-512BW and VPOPCNTDQ): panel layout, 6 rows x 64
// columns (4 zmm of 16 uint32 lanes) outer-product micro-kernel: per half-word, 4 panel vectors
// are XORed with a broadcast half-word of each of the 6 A rows, VPOPCNTD, and accumulated in 24
// zmm registers. Lanes are columns, so any word count needs no tail; the epilogue is vectorised
// too (masked stores for edge columns), hence its own driver rather than the strip driver.
#include "kernels_internal.h"

#if BENN_X86
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512vpopcntdq,avx512bw")))

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

T512 void bennk_gemm_avx512(const uint64_t *a, long lda, const uint64_t *panels, long words,
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

// Masked loads read only the row's own floats, so a partial last word needs no scalar tail.
T512 AINLINE uint64_t pack_word_avx512(const float *sw, long e) {
    const __m512 z = _mm512_setzero_ps();
    uint64_t word = 0;
    for (int g = 0; g < 4; g++) {
        long c = e - 16 * g;
        __mmask16 lm = c >= 16 ? (__mmask16)0xffff
                     : c <= 0 ? (__mmask16)0 : (__mmask16)((1u << c) - 1);
        __m512 v = _mm512_maskz_loadu_ps(lm, sw + 16 * g);
        __mmask16 m = _mm512_mask_cmp_ps_mask(lm, v, z, _CMP_LT_OQ);
        word |= (uint64_t)m << (16 * g);
    }
    return word;
}

DEFINE_PACK_F32(bennk_pack_avx512, T512, pack_word_avx512)

#endif  // BENN_X86
