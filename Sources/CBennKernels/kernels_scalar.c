// Scalar path: the reference every SIMD path is tested against, bit for bit. Reads B row-major
// (no panels) and runs on every CPU. Its GEMM is compiled twice, with the popcnt instruction
// and portable, and chooses at run time, so that it needs no CPU feature yet is not slowed by
// the compiler's bit-trick popcount where the instruction exists.
#include "kernels_internal.h"

#if BENN_X86
#define TPOP __attribute__((target("popcnt")))
#else
// Elsewhere the compiler's own popcount is the best there is.
#define TPOP
#endif

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

// 2 rows x 2 columns per step on row-major A and B; odd edges repeat the last row/column and
// drop its counts.
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

void bennk_gemm_scalar(const uint64_t *a, long lda, const uint64_t *b, long ldb, long words,
                       long i0, long i1, long j0, long j1, const benn_gemm_out *o) {
    if (has_popcnt()) gemm_scalar_popcnt(a, lda, b, ldb, words, i0, i1, j0, j1, o);
    else gemm_scalar_portable(a, lda, b, ldb, words, i0, i1, j0, j1, o);
}

AINLINE uint64_t pack_word_scalar(const float *sw, long e) { return pack_bits(sw, 0, e); }

DEFINE_PACK_F32(bennk_pack_scalar, , pack_word_scalar)
