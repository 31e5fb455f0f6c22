#ifndef BENN_SHA256_H
#define BENN_SHA256_H

#include <stddef.h>
#include <stdint.h>

/// The 64 round constants K of FIPS 180-4 (one table for both compression paths).
const uint32_t *benn_sha256_round_constants(void);

/// 1 when this CPU has the SHA extensions (and the SSSE3/SSE4.1 the kernel also uses).
int benn_sha256_hw_available(void);

/// Runs the SHA-256 compression function over `count` consecutive 64-byte blocks with the
/// SHA-NI instructions, updating `state` (the eight working words a..h). Call only when
/// `benn_sha256_hw_available()` returned 1.
void benn_sha256_blocks_hw(uint32_t state[8], const uint8_t *blocks, size_t count);

#endif
