import BennCore
import Dispatch

/// How many threads compute kernels may use. Set once at start-up (from the spec or
/// `--threads`); a cluster worker sets it to its share of the cores.
public enum Parallelism {
    nonisolated(unsafe) public static var threads: Int = 1

    /// Splits `0..<count` into `threads` contiguous ranges, fixed by (count, threads) only,
    /// so that any reduction done per range and then combined in range order is
    /// deterministic for a given thread count.
    public static func ranges(_ count: Int, threads: Int = Parallelism.threads) -> [Range<Int>] {
        let t = max(1, min(threads, count))
        return (0..<t).map { i in (count * i / t)..<(count * (i + 1) / t) }
    }

    /// Runs `body(part, range)` for each range of `ranges(count)` concurrently.
    public static func forEachRange(_ count: Int, threads: Int = Parallelism.threads,
                                    _ body: (Int, Range<Int>) -> Void) {
        let parts = ranges(count, threads: threads)
        if parts.count <= 1 {
            if let r = parts.first { body(0, r) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendableBox(body)
            DispatchQueue.concurrentPerform(iterations: parts.count) { i in
                box.value(i, parts[i])
            }
        }
    }
}
