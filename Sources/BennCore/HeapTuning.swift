import CBennMalloc
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// glibc's malloc settings, for the two kinds of benn process that need other than the
/// defaults. glibc serves blocks above its mmap threshold (at most 32 MiB by default) with
/// fresh `mmap`s and unmaps them on free, so a block of that size allocated again and again
/// is page-faulted and zeroed every time.
///
/// - Training (``keepFreedMemoryForReuse()``): a step allocates the same large buffers every
///   time (im2col matrices of hundreds of MB for `bcnn`, activations of tens of MB); the
///   cost is in docs/RESULTS.md, Training internals. Serving every
///   block from the heap and never trimming it lets the next step reuse the same pages; the
///   peak size is unchanged because the same blocks are live at the peak either way.
/// - Messaging (``keepBuffers(upTo:)``): every 40 MB result frame copied into newly mapped
///   memory cost ten thousand page faults, 25-50 ms per result on the coordinator's event
///   loop, against about 2 ms for the same copy into memory the heap already holds. Raising
///   the mmap threshold to the largest frame accepted and the trim threshold above it keeps
///   such buffers in the heap and reuses them, at the cost of keeping up to that much freed
///   memory.
///
/// The settings only ever grow: asking for buffers to be kept after every freed block is
/// already kept changes nothing, so a process that trains and messages (a cluster worker)
/// gets what both need.
public enum HeapTuning {
    private enum Mode: Equatable { case defaults, buffers(upTo: Int), everything }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var mode = Mode.defaults

    /// Training: every block from the heap, the heap never trimmed. Call once at start-up,
    /// before large allocations. Does nothing when the user set glibc's malloc tunables
    /// (`GLIBC_TUNABLES`), or off glibc. Returns whether it applied.
    @discardableResult
    public static func keepFreedMemoryForReuse() -> Bool {
        #if canImport(Glibc)
        if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("malloc") { return false }
        #endif
        lock.lock(); defer { lock.unlock() }
        guard benn_keep_freed_memory() == 1 else { return false }
        mode = .everything
        return true
    }

    /// Messaging: blocks up to `bytes` (the largest message) from the heap, and the heap
    /// trimmed only above twice that. A no-op where `mallopt` does not exist; returns
    /// whether the settings (or larger ones) are in effect.
    @discardableResult
    public static func keepBuffers(upTo bytes: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        switch mode {
        case .everything: return true
        case let .buffers(upTo: kept) where kept >= bytes: return true
        default: break
        }
        let largest = Int32(clamping: bytes)
        guard benn_keep_buffers(largest, Int32(clamping: 2 * Int64(largest))) == 1 else { return false }
        mode = .buffers(upTo: Int(largest))
        return true
    }

    /// glibc's defaults again: every large block is its own mapping, returned on free.
    @discardableResult
    public static func returnFreedMemory() -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard benn_return_freed_memory() == 1 else { return false }
        mode = .defaults
        return true
    }
}
