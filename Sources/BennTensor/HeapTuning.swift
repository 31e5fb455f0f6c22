import CBennMalloc
#if canImport(Glibc)
import Glibc
#endif

/// Keeps freed memory in the process's heap for the next allocation of the same size.
///
/// A training step allocates the same large buffers every time (im2col matrices of
/// hundreds of MB for `bcnn`, activations of tens of MB). glibc serves blocks above its mmap
/// threshold (at most 32 MiB) with fresh `mmap`s and unmaps them on free, so every step
/// page-faults and zeroes all of that memory again (the cost is in docs/RESULTS.md, Training
/// internals). Serving every block from the heap and never trimming it
/// lets the next step reuse the same pages; the peak size is unchanged because the same
/// blocks are live at the peak either way.
public enum HeapTuning {
    /// Call once at start-up, before large allocations. Does nothing when the user set
    /// glibc's malloc tunables (`GLIBC_TUNABLES`), or off glibc. Returns whether it applied.
    @discardableResult
    public static func keepFreedMemoryForReuse() -> Bool {
        #if canImport(Glibc)
        if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("malloc") { return false }
        #endif
        return benn_keep_freed_memory() == 1
    }

    /// glibc's defaults again: every large block is its own mapping, returned on free.
    @discardableResult
    public static func returnFreedMemory() -> Bool {
        benn_return_freed_memory() == 1
    }
}
