#include "benn_malloc.h"
// Any C library header defines __GLIBC__ (through <features.h>) on glibc.
#include <limits.h>

#if defined(__GLIBC__)
#include <malloc.h>

int benn_keep_freed_memory(void) {
    return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
}

int benn_keep_buffers(int mmap_threshold, int trim_threshold) {
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
}

int benn_return_freed_memory(void) {
    // glibc's documented defaults (mallopt(3)).
    return mallopt(M_MMAP_MAX, 65536) == 1 && mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1
        && mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1;
}
#else
int benn_keep_freed_memory(void) { return 0; }
int benn_keep_buffers(int mmap_threshold, int trim_threshold) { (void)mmap_threshold; (void)trim_threshold; return 0; }
int benn_return_freed_memory(void) { return 0; }
#endif
