import Foundation

/// Allocator settings for processes that move results of tens of megabytes.
///
/// glibc serves allocations above its mmap threshold (at most 32 MiB by default) with fresh
/// `mmap`s and returns them with `munmap` when freed, so every 40 MB result frame was copied
/// into newly mapped memory: ten thousand page faults, 25-50 ms per result on the
/// coordinator's event loop, against about 2 ms for the same copy into memory the heap
/// already holds. Raising the mmap threshold to the largest frame accepted
/// (`Wire.maxMessageBytes`) and the trim threshold above it keeps such buffers in the heap
/// and reuses them. The cost is that the process keeps up to that much freed memory.
enum MemoryTuning {
    private typealias MalloptFn = @convention(c) (Int32, Int32) -> Int32
    // From <malloc.h>.
    private static let mTrimThreshold: Int32 = -1
    private static let mMmapThreshold: Int32 = -3

    private static let applied: Bool = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(sym, to: MalloptFn.self)
        let largest = Int32(clamping: Wire.maxMessageBytes)
        return mallopt(mMmapThreshold, largest) == 1 && mallopt(mTrimThreshold, Int32(clamping: 2 * Int64(largest))) == 1
    }()

    /// Applies the settings once per process (a no-op where `mallopt` does not exist);
    /// returns whether they are in effect.
    @discardableResult
    static func keepLargeBuffers() -> Bool { applied }
}
