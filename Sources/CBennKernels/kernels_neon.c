// NEON path (AArch64, where Advanced SIMD is baseline, so no target attribute): panel layout,
// 4 rows x 16 columns per micro-kernel (4 q-registers of 4 uint32 columns each). Per half-word,
// each panel vector is XORed with a broadcast half-word of each A row and counted with
// vcntq_u8; the byte counts (at most 8 per step) are added in uint8 lanes for up to 31 steps
// (31 * 8 = 248 < 256), then folded into uint32 column totals with pairwise widening adds
// (vpaddlq_u8 -> uint16, vpadalq_u16 -> uint32; the 4 bytes of a uint32 lane are exactly one
// column's half-word).
#include "kernels_internal.h"

#if BENN_NEON
#include <arm_neon.h>

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

DEFINE_STRIP_GEMM(bennk_gemm_neon, , kneon, emit_row_neon)

// 16 floats per step: four vcltq_f32 masks narrowed to 16 mask bytes, weighted by their bit
// value and summed per half (vaddv_u8) into 16 bits. NaN and -0 compare false, as in C.
AINLINE uint64_t pack_word_neon(const float *sw, long e) {
    static const uint8_t weights[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t wv = vld1q_u8(weights);
    const float32x4_t z = vdupq_n_f32(0.0f);
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
    return word | pack_bits(sw, 16 * g, e);
}

DEFINE_PACK_F32(bennk_pack_neon, , pack_word_neon)

#endif  // BENN_NEON
