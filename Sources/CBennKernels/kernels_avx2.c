// AVX2 path (x86-64 with AVX2 and POPCNT): panel layout, 4 rows x 16 columns per micro-kernel.
// AVX2 has no vector popcount, so bytes are counted with a nibble lookup (vpshufb) and summed
// in byte lanes; at most 8 per half-word, so 31 half-words fit before a byte can overflow
// (31 * 8 = 248), after which they are folded into 32-bit column totals.
#include "kernels_internal.h"

#if BENN_X86
#include <immintrin.h>

#define T256 __attribute__((target("avx2,popcnt")))

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

DEFINE_STRIP_GEMM(bennk_gemm_avx2, T256, k256, emit_row)

// A whole word is 8 compares and movemasks; a partial last word goes float by float so that
// nothing past the row is read.
T256 AINLINE uint64_t pack_word_avx2(const float *sw, long e) {
    if (e != 64) return pack_bits(sw, 0, e);
    const __m256 z = _mm256_setzero_ps();
    uint64_t word = 0;
    for (int g = 0; g < 8; g++) {
        __m256 v = _mm256_loadu_ps(sw + 8 * g);
        uint32_t m = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(v, z, _CMP_LT_OQ));
        word |= (uint64_t)m << (8 * g);
    }
    return word;
}

DEFINE_PACK_F32(bennk_pack_avx2, T256, pack_word_avx2)

#endif  // BENN_X86
