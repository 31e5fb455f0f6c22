#ifndef BENN_MALLOC_H
#define BENN_MALLOC_H

/// Serves every allocation from the heap (no per-block mmap) and never trims the heap, so
/// large blocks freed by one training step are reused by the next without page faults.
/// Returns 1 when applied (glibc), 0 where the C library has no such settings.
int benn_keep_freed_memory(void);
/// Serves blocks up to `mmap_threshold` bytes from the heap and trims it only above
/// `trim_threshold`, so message buffers of up to that size are reused.
/// Returns 1 when applied (glibc), 0 where the C library has no such settings.
int benn_keep_buffers(int mmap_threshold, int trim_threshold);
/// Back to glibc's defaults: blocks above 128 KiB mmapped and unmapped on free, the heap
/// trimmed (the mmap threshold no longer adapts, as it does before any setting).
int benn_return_freed_memory(void);

#endif
