#pragma once
// C kernels for bit-packed binary neural network inference.
// Every function takes an explicit `path` (BENN_PATH_*); the caller must only pass a path that
// benn_path_supported() reports. Encoding: bit 1 <=> value < 0 (i.e. -1), bit 0 <=> +1.
// Sizes are in elements of the pointed-to type (uint64_t words, floats, int32).
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    BENN_PATH_SCALAR = 0,
    BENN_PATH_AVX2 = 1,
    BENN_PATH_AVX512 = 2,
    BENN_PATH_NEON = 3,     // AArch64 Advanced SIMD (baseline there; never supported elsewhere)
};

enum {
    BENN_OUT_F32 = 0,       // float out = k - 2x
    BENN_OUT_I32 = 1,       // int32 out = k - 2x
    BENN_OUT_SCALED = 2,    // float out = (k - 2x) * scale[j] + bias[j]
    BENN_OUT_THRESHOLD = 3, // packed bits: flip[j] ? x < thr[j] : x > thr[j]
};

/// 1 if this CPU (and OS) can run `path`.
int benn_path_supported(int path);

/// Column panel width of the SIMD layout (64 columns = one output word).
#define BENN_PANEL_COLS 64

/// uint64 words needed to hold B (n rows of `words` words) in the panel layout.
size_t benn_panel_buffer_words(long n, long words);

/// Packs rows [p0*64, min(n, p1*64)) of B into panels p0..<p1 (zero-filled past n).
/// Panel layout: panel p holds, for half-word h in 0..<2*words and column c in 0..<64,
/// the uint32 ((uint32_t*)(b + (p*64+c)*ldb))[h] at ((uint32_t*)panels)[(p*2*words + h)*64 + c].
void benn_pack_panels(const uint64_t *b, long ldb, long n, long words,
                      uint64_t *panels, long p0, long p1);

/// Output parameters of a GEMM tile.
typedef struct {
    int mode;               // BENN_OUT_*
    long k;                 // true bit count
    void *out;              // float*, int32_t* or uint64_t* (threshold)
    long ldc;               // row stride of out in its element type
    const int32_t *thresholds; // mode THRESHOLD
    const uint8_t *flip;       // mode THRESHOLD, may be NULL (= all 0)
    const float *scale;        // mode SCALED
    const float *bias;         // mode SCALED, may be NULL
} benn_gemm_out;

/// Computes rows [i0, i1) x columns [j0, j1) of the binary GEMM. j0 must be a multiple of 64
/// (and j1 too unless j1 == n). SIMD paths (AVX2, AVX-512, NEON) read `panels` (from benn_pack_panels, covering at
/// least those columns); the scalar path reads `b`/`ldb` and ignores `panels`.
void benn_gemm_tile(int path, const uint64_t *a, long lda,
                    const uint64_t *b, long ldb, const uint64_t *panels,
                    long n, long words, long i0, long i1, long j0, long j1,
                    const benn_gemm_out *o);

/// Packs floats to bits (bit = src < 0; NaN, +0, -0 give 0). Tail bits past cols are zero.
void benn_pack_f32(int path, const float *src, long rows, long cols, long src_stride,
                   uint64_t *dst, long dst_stride);

/// Packed NHWC im2col with all-zero (+1) padding pixels. Returns nothing; see Swift docs.
void benn_im2col(const uint64_t *src, long batch, long height, long width, long wpp,
                 long kh, long kw, long sh, long sw, long ph, long pw,
                 long out_h, long out_w, uint64_t *dst);

#ifdef __cplusplus
}
#endif
