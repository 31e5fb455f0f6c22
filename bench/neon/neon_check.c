// Exactness check of the SIMD kernel paths against the scalar reference, through the public
// C API of Sources/CBennKernels (benn_pack_f32, benn_pack_panels, benn_gemm_tile).
//
// Built for aarch64 and run under qemu-aarch64 by scripts/check-neon, it checks the NEON path;
// built for the host (x86-64) it checks AVX2 / AVX-512 where the CPU has them and that NEON is
// reported unsupported. Every supported non-scalar path must give byte-identical output to
// the scalar path (including untouched padding), and the scalar path itself is checked against
// a naive per-element popcount.
//
// Usage: neon_check [--bench]   (exit status 0 iff everything matched)
// Build with -ffp-contract=off under GCC (GCC ignores the file's STDC FP_CONTRACT pragma).
#define _POSIX_C_SOURCE 199309L
#include "benn_kernels.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *path_name(int p) {
    switch (p) {
    case BENN_PATH_SCALAR: return "scalar";
    case BENN_PATH_AVX2: return "avx2";
    case BENN_PATH_AVX512: return "avx512";
    case BENN_PATH_NEON: return "neon";
    default: return "?";
    }
}

static uint64_t rng_state = 0x1234567;
static uint64_t rnd(void) {  // SplitMix64
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static long rndi(long lo, long hi) { return lo + (long)(rnd() % (uint64_t)(hi - lo + 1)); }

static long passed = 0, failed = 0;
static void check(int ok, const char *what, int path, const char *fmt_ctx) {
    if (ok) { passed++; return; }
    failed++;
    if (failed <= 30) fprintf(stderr, "MISMATCH %s path=%s %s\n", what, path_name(path), fmt_ctx);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { perror("malloc"); exit(2); }
    return p;
}

// Random packed rows with zero tail bits past k; `style` 0 random, 1 all ones, 2 all zeros,
// 3 sparse.
static void fill_rows(uint64_t *x, long rows, long ld, long words, long k) {
    for (long r = 0; r < rows; r++) {
        int style = (int)(rnd() % 8);
        style = style < 5 ? 0 : style - 4;
        for (long w = 0; w < ld; w++) {
            uint64_t v;
            if (w >= words) v = rnd();  // stride padding: garbage that must be ignored
            else if (style == 1) v = ~0ull;
            else if (style == 2) v = 0;
            else if (style == 3) v = rnd() & rnd() & rnd();
            else v = rnd();
            if (w == words - 1 && (k & 63)) v &= (1ull << (k & 63)) - 1;
            x[r * ld + w] = v;
        }
    }
}

typedef struct {
    long m, n, k, words, lda, ldb;
    const uint64_t *a, *b, *panels;
} gemm_case;

// Output buffer size in bytes for mode, and ldc in elements.
static long out_ldc(int mode, long n) {
    return mode == BENN_OUT_THRESHOLD ? (n + 63) / 64 + 1 : n + 3;
}
static size_t out_bytes(int mode, long m, long n) {
    size_t elem = mode == BENN_OUT_THRESHOLD ? 8 : 4;
    return (size_t)m * (size_t)out_ldc(mode, n) * elem;
}

// Runs the GEMM as `tiles` row x column tiles (whole 64-column panels, like GEMMDriver).
static void run_gemm(int path, const gemm_case *c, benn_gemm_out o, int row_parts, int col_parts) {
    long np = (c->n + 63) / 64;
    if (col_parts > np) col_parts = (int)np;
    for (int cp = 0; cp < col_parts; cp++) {
        long j0 = np * cp / col_parts * 64, j1 = np * (cp + 1) / col_parts * 64;
        if (j1 > c->n) j1 = c->n;
        for (int rp = 0; rp < row_parts; rp++) {
            long i0 = c->m * rp / row_parts, i1 = c->m * (rp + 1) / row_parts;
            benn_gemm_tile(path, c->a, c->lda, c->b, c->ldb, c->panels, c->n, c->words,
                           i0, i1, j0, j1, &o);
        }
    }
}

static void test_gemm_case(const int *paths, int npaths, const gemm_case *c) {
    long m = c->m, n = c->n, k = c->k;
    // Independent reference counts x[i][j] = popcount(a_i ^ b_j).
    int32_t *x = xmalloc((size_t)(m * n) * sizeof(int32_t));
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            long s = 0;
            for (long w = 0; w < c->words; w++) {
                uint64_t v = c->a[i * c->lda + w] ^ c->b[j * c->ldb + w];
                while (v) { s += (long)(v & 1); v >>= 1; }
            }
            x[i * n + j] = (int32_t)s;
        }
    float *scale = xmalloc((size_t)n * sizeof(float)), *bias = xmalloc((size_t)n * sizeof(float));
    int32_t *thr = xmalloc((size_t)n * sizeof(int32_t));
    uint8_t *flip = xmalloc((size_t)n);
    for (long j = 0; j < n; j++) {
        scale[j] = (float)(rndi(-1000, 1000)) / 337.0f;
        bias[j] = (float)(rndi(-1000, 1000)) / 91.0f;
        long t = (rnd() % 2) ? rndi(-1, k + 1) : k / 2 + rndi(-3, 3);
        thr[j] = (int32_t)t;
        uint64_t f = rnd() % 4;
        flip[j] = f == 0 ? 0 : f == 1 ? 1 : f == 2 ? 255 : 0;
    }
    char ctx[160];
    struct { int mode; int variant; const char *name; } modes[] = {
        {BENN_OUT_F32, 0, "f32"}, {BENN_OUT_I32, 0, "i32"},
        {BENN_OUT_SCALED, 0, "scaled+bias"}, {BENN_OUT_SCALED, 1, "scaled"},
        {BENN_OUT_THRESHOLD, 0, "threshold"}, {BENN_OUT_THRESHOLD, 1, "threshold+flip"},
    };
    for (size_t mi = 0; mi < sizeof modes / sizeof modes[0]; mi++) {
        int mode = modes[mi].mode;
        size_t bytes = out_bytes(mode, m, n);
        benn_gemm_out o = {0};
        o.mode = mode; o.k = k; o.ldc = out_ldc(mode, n);
        if (mode == BENN_OUT_SCALED) { o.scale = scale; o.bias = modes[mi].variant ? NULL : bias; }
        if (mode == BENN_OUT_THRESHOLD) { o.thresholds = thr; o.flip = modes[mi].variant ? flip : NULL; }
        unsigned char *ref = xmalloc(bytes), *got = xmalloc(bytes);
        memset(ref, 0xA5, bytes);
        o.out = ref;
        run_gemm(BENN_PATH_SCALAR, c, o, 1, 1);
        snprintf(ctx, sizeof ctx, "mode=%s m=%ld n=%ld k=%ld", modes[mi].name, m, n, k);
        // Scalar reference against the naive counts (padding untouched).
        {
            int ok = 1;
            long ldc = o.ldc;
            for (long i = 0; i < m && ok; i++) {
                if (mode == BENN_OUT_THRESHOLD) {
                    const uint64_t *row = (const uint64_t *)ref + i * ldc;
                    for (long j = 0; j < n; j++) {
                        int32_t xv = x[i * n + j];
                        int bit = (o.flip && o.flip[j]) ? xv < thr[j] : xv > thr[j];
                        if ((int)((row[j / 64] >> (j % 64)) & 1) != bit) ok = 0;
                    }
                    long nw = (n + 63) / 64;
                    if (n % 64 && (row[nw - 1] >> (n % 64)) != 0) ok = 0;
                    for (long w = nw; w < ldc; w++) if (row[w] != 0xA5A5A5A5A5A5A5A5ull) ok = 0;
                } else {
                    for (long j = 0; j < ldc; j++) {
                        int32_t v = (int32_t)k - 2 * x[i * n + (j < n ? j : 0)];
                        const void *cell = ref + ((size_t)(i * ldc + j)) * 4;
                        if (j >= n) {
                            uint32_t u; memcpy(&u, cell, 4);
                            if (u != 0xA5A5A5A5u) ok = 0;
                        } else if (mode == BENN_OUT_I32) {
                            int32_t u; memcpy(&u, cell, 4);
                            if (u != v) ok = 0;
                        } else {
                            float f; memcpy(&f, cell, 4);
                            float e = (float)v;
                            if (mode == BENN_OUT_SCALED) {
                                volatile float p = e * scale[j];  // separately rounded
                                e = o.bias ? p + bias[j] : p;
                            }
                            if (memcmp(&f, &e, 4) != 0) ok = 0;
                        }
                    }
                }
            }
            check(ok, "scalar-vs-naive", BENN_PATH_SCALAR, ctx);
        }
        for (int pi = 0; pi < npaths; pi++) {
            // Whole tile, then split into row x column tiles (as the threaded driver does).
            int splits[3][2] = {{1, 1}, {3, 2}, {7, 3}};
            for (int si = 0; si < 3; si++) {
                memset(got, 0xA5, bytes);
                o.out = got;
                run_gemm(paths[pi], c, o, splits[si][0], splits[si][1]);
                char ctx2[200];
                snprintf(ctx2, sizeof ctx2, "%s tiles=%dx%d", ctx, splits[si][0], splits[si][1]);
                check(memcmp(ref, got, bytes) == 0, "gemm", paths[pi], ctx2);
            }
        }
        free(ref); free(got);
    }
    free(x); free(scale); free(bias); free(thr); free(flip);
}

static void make_case(gemm_case *c, long m, long n, long k, uint64_t **bufs) {
    c->m = m; c->n = n; c->k = k;
    c->words = (k + 63) / 64;
    c->lda = c->words + (m % 2);
    c->ldb = c->words + (n % 3);
    uint64_t *a = xmalloc((size_t)(m * c->lda) * 8), *b = xmalloc((size_t)(n * c->ldb) * 8);
    fill_rows(a, m, c->lda, c->words, k);
    fill_rows(b, n, c->ldb, c->words, k);
    size_t pw = benn_panel_buffer_words(n, c->words);
    uint64_t *panels = xmalloc(pw * 8 + 8);
    // Offset by one word so the SIMD loads see a panel buffer that is only 8-byte aligned.
    uint64_t *pp = panels + 1;
    long np = (n + 63) / 64;
    benn_pack_panels(b, c->ldb, n, c->words, pp, 0, np / 2);
    benn_pack_panels(b, c->ldb, n, c->words, pp, np / 2, np);
    c->a = a; c->b = b; c->panels = pp;
    bufs[0] = a; bufs[1] = b; bufs[2] = panels;
}

static void test_gemm(const int *paths, int npaths) {
    static const long ks[] = {1, 63, 64, 65, 127, 576, 577, 2048};
    static const long mn[][2] = {{1, 1}, {1, 13}, {1, 70}, {1, 130}, {2, 65}, {3, 17}, {5, 63},
                                 {7, 13}, {13, 7}, {6, 129}, {33, 65}, {70, 33}, {9, 200}};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
        for (size_t s = 0; s < sizeof mn / sizeof mn[0]; s++) {
            gemm_case c; uint64_t *bufs[3];
            make_case(&c, mn[s][0], mn[s][1], ks[ki], bufs);
            test_gemm_case(paths, npaths, &c);
            for (int i = 0; i < 3; i++) free(bufs[i]);
        }
    // Random shapes.
    for (int t = 0; t < 40; t++) {
        gemm_case c; uint64_t *bufs[3];
        make_case(&c, rndi(1, 40), rndi(1, 260), rndi(1, 3000), bufs);
        test_gemm_case(paths, npaths, &c);
        for (int i = 0; i < 3; i++) free(bufs[i]);
    }
    // Extreme operands (accumulator widths): all-ones A against alternating all-ones / zero B.
    static const long big[] = {4096, 8191, 16384, 40000};
    for (size_t ki = 0; ki < sizeof big / sizeof big[0]; ki++) {
        gemm_case c; uint64_t *bufs[3];
        make_case(&c, 5, 67, big[ki], bufs);
        uint64_t *a = bufs[0], *b = bufs[1];
        long k = big[ki];
        for (long i = 0; i < c.m; i++)
            for (long w = 0; w < c.words; w++)
                a[i * c.lda + w] = (w == c.words - 1 && (k & 63)) ? (1ull << (k & 63)) - 1 : ~0ull;
        for (long j = 0; j < c.n; j++)
            for (long w = 0; w < c.words; w++)
                b[j * c.ldb + w] = (j % 2) ? a[w] : 0;
        long np = (c.n + 63) / 64;
        benn_pack_panels(b, c.ldb, c.n, c.words, (uint64_t *)c.panels, 0, np);
        test_gemm_case(paths, npaths, &c);
        for (int i = 0; i < 3; i++) free(bufs[i]);
    }
}

static float special_value(void) {
    static const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, 1.0f, -1.0f, 1e-45f, -1e-45f,
                               -1e-30f, 3.0f, -3.5f};
    uint64_t r = rnd();
    switch (r % 10) {
    case 0: return sp[(r >> 8) % (sizeof sp / sizeof sp[0])];
    case 1: { float f; uint32_t u = (uint32_t)(r >> 16) | 0x7f800001u; memcpy(&f, &u, 4); return f; }  // +/-NaN
    default: return (float)((long)((r >> 8) % 2001) - 1000) / 100.0f;
    }
}

static void test_pack(const int *paths, int npaths) {
    static const long colss[] = {1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 80, 127, 128,
                                 130, 576, 577, 2048};
    char ctx[120];
    for (size_t ci = 0; ci < sizeof colss / sizeof colss[0]; ci++)
        for (long rows = 1; rows <= 3; rows += 2) {
            long cols = colss[ci], ss = cols + 5, words = (cols + 63) / 64, ds = words + 2;
            float *srcbuf = xmalloc((size_t)(rows * ss + 1) * sizeof(float));
            float *src = srcbuf + 1;  // only 4-byte aligned
            for (long i = 0; i < rows * ss; i++) src[i] = special_value();
            uint64_t *ref = xmalloc((size_t)(rows * ds) * 8), *got = xmalloc((size_t)(rows * ds) * 8);
            uint64_t *naive = xmalloc((size_t)(rows * ds) * 8);
            for (long i = 0; i < rows * ds; i++) ref[i] = naive[i] = 0xAAAAAAAAAAAAAAAAull;
            for (long r = 0; r < rows; r++) {
                for (long w = 0; w < words; w++) naive[r * ds + w] = 0;
                for (long j = 0; j < cols; j++)
                    if (src[r * ss + j] < 0.0f) naive[r * ds + j / 64] |= 1ull << (j % 64);
            }
            benn_pack_f32(BENN_PATH_SCALAR, src, rows, cols, ss, ref, ds);
            snprintf(ctx, sizeof ctx, "rows=%ld cols=%ld", rows, cols);
            check(memcmp(ref, naive, (size_t)(rows * ds) * 8) == 0, "pack scalar-vs-naive",
                  BENN_PATH_SCALAR, ctx);
            for (int pi = 0; pi < npaths; pi++) {
                for (long i = 0; i < rows * ds; i++) got[i] = 0xAAAAAAAAAAAAAAAAull;
                benn_pack_f32(paths[pi], src, rows, cols, ss, got, ds);
                check(memcmp(ref, got, (size_t)(rows * ds) * 8) == 0, "pack", paths[pi], ctx);
            }
            free(srcbuf); free(ref); free(got); free(naive);
        }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Rough timing (under qemu this measures the emulator, not the kernel).
static void bench(const int *paths, int npaths) {
    const long m = 64, n = 256, k = 2048;
    gemm_case c; uint64_t *bufs[3];
    make_case(&c, m, n, k, bufs);
    float *out = xmalloc((size_t)(m * n) * sizeof(float));
    benn_gemm_out o = {0};
    o.mode = BENN_OUT_F32; o.k = k; o.out = out; o.ldc = n;
    int all[4] = {BENN_PATH_SCALAR};
    for (int i = 0; i < npaths; i++) all[i + 1] = paths[i];
    for (int i = 0; i <= npaths; i++) {
        int reps = 0;
        double t0 = now(), t;
        do {
            benn_gemm_tile(all[i], c.a, c.lda, c.b, c.ldb, c.panels, n, c.words, 0, m, 0, n, &o);
            reps++;
        } while ((t = now() - t0) < 0.5);
        printf("BENCH %-6s %ldx%ldx%ld %.3f ms/call %.2f GMAC/s\n", path_name(all[i]), m, n, k,
               1e3 * t / reps, (double)m * n * k * reps / t / 1e9);
    }
    free(out);
    for (int i = 0; i < 3; i++) free(bufs[i]);
}

int main(int argc, char **argv) {
    int paths[3], npaths = 0;
    const int candidates[] = {BENN_PATH_AVX2, BENN_PATH_AVX512, BENN_PATH_NEON};
    for (int i = 0; i < 3; i++)
        if (benn_path_supported(candidates[i])) paths[npaths++] = candidates[i];
    check(benn_path_supported(BENN_PATH_SCALAR) == 1, "scalar supported", BENN_PATH_SCALAR, "");
    check(benn_path_supported(99) == 0, "unknown path unsupported", 99, "");
#if defined(__aarch64__)
    check(benn_path_supported(BENN_PATH_NEON) == 1, "neon supported on aarch64", BENN_PATH_NEON, "");
    check(benn_path_supported(BENN_PATH_AVX2) == 0 && benn_path_supported(BENN_PATH_AVX512) == 0,
          "x86 paths unsupported on aarch64", BENN_PATH_AVX2, "");
    const char *arch = "aarch64";
#else
    check(benn_path_supported(BENN_PATH_NEON) == 0, "neon unsupported off aarch64", BENN_PATH_NEON, "");
    const char *arch = "host";
#endif
    printf("arch %s; paths checked against scalar:", arch);
    for (int i = 0; i < npaths; i++) printf(" %s", path_name(paths[i]));
    printf("%s\n", npaths ? "" : " (none)");
    fflush(stdout);
    test_pack(paths, npaths);
    test_gemm(paths, npaths);
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) bench(paths, npaths);
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed ? 1 : 0;
}
