import Dispatch

/// Times the binary GEMM on representative shapes, for each kernel path and thread count.
public enum KernelBenchmark {
    /// One GEMM shape: `m x n` outputs of `k`-bit dot products.
    public struct Shape: Codable, Sendable, Equatable {
        public var m: Int
        public var n: Int
        public var k: Int
        public init(m: Int, n: Int, k: Int) { self.m = m; self.n = n; self.k = k }
    }

    /// One measurement. `seconds` is the median time of one `gemm` call (including the
    /// per-call packing of B into panels), `gmacPerSecond` counts one MAC per bit pair:
    /// `m * n * k / seconds / 1e9`.
    public struct Result: Codable, Sendable, Equatable {
        public var path: KernelPath
        public var threads: Int
        public var m: Int
        public var n: Int
        public var k: Int
        public var seconds: Double
        public var gmacPerSecond: Double
    }

    /// Dense 256x2048x2048 and 256x2048x784, and the conv shapes 25088x64x576 (3x3x64 taps,
    /// 9 words per row) and 6272x128x1152.
    public static let defaultShapes: [Shape] = [
        Shape(m: 256, n: 2048, k: 2048), Shape(m: 256, n: 2048, k: 784),
        Shape(m: 25088, n: 64, k: 576), Shape(m: 6272, n: 128, k: 1152),
    ]

    /// Runs `gemm` (float output) on random packed operands for every combination of `paths`,
    /// `threadCounts` and `shapes`. Each combination is warmed up once, then timed
    /// `repetitions` times; each repetition loops the call until it has run for at least
    /// `minRepetitionSeconds` and records the time per call. Returns the medians.
    public static func run(paths: [KernelPath] = BinaryKernels.supported,
                           threadCounts: [Int] = [1, 2],
                           shapes: [Shape] = defaultShapes,
                           repetitions: Int = 7,
                           minRepetitionSeconds: Double = 0.005) -> [Result] {
        precondition(repetitions >= 1)
        var results: [Result] = []
        for shape in shapes {
            let words = BinaryKernels.words(forBits: shape.k)
            let a = randomPacked(rows: shape.m, words: words, bits: shape.k, seed: 1)
            let b = randomPacked(rows: shape.n, words: words, bits: shape.k, seed: 2)
            let out = UnsafeMutablePointer<Float>.allocate(capacity: shape.m * shape.n)
            defer { a.deallocate(); b.deallocate(); out.deallocate() }
            for path in paths {
                for threads in threadCounts {
                    let call = {
                        BinaryKernels.gemm(a: a, lda: words, b: b, ldb: words, m: shape.m, n: shape.n,
                                           words: words, k: shape.k, out: out, ldc: shape.n,
                                           threads: threads, path: path)
                    }
                    let median = medianSeconds(of: call, repetitions: repetitions,
                                               minRepetitionSeconds: minRepetitionSeconds)
                    let macs = Double(shape.m) * Double(shape.n) * Double(shape.k)
                    results.append(Result(path: path, threads: threads, m: shape.m, n: shape.n, k: shape.k,
                                          seconds: median, gmacPerSecond: macs / median / 1e9))
                }
            }
        }
        return results
    }

    /// The median seconds per call of `call`: warmed up once, then timed `repetitions` times,
    /// each repetition looping the call until it has run for at least `minRepetitionSeconds`
    /// and recording the time per call. Shared by the benchmarks of the modules above.
    public static func medianSeconds(of call: () -> Void, repetitions: Int,
                                     minRepetitionSeconds: Double) -> Double {
        let warm = time(call)
        let inner = max(1, Int((minRepetitionSeconds / max(warm, 1e-9)).rounded(.up)))
        var samples: [Double] = []
        for _ in 0..<repetitions {
            let t = time { for _ in 0..<inner { call() } }
            samples.append(t / Double(inner))
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    private static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Random rows with zero tail bits (xorshift64*, no dependency on other modules).
    private static func randomPacked(rows: Int, words: Int, bits: Int, seed: UInt64) -> UnsafeMutablePointer<UInt64> {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, rows * words))
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let tail = bits % 64
        for r in 0..<rows {
            for w in 0..<words {
                s ^= s >> 12; s ^= s << 25; s ^= s >> 27
                var v = s &* 0x2545_F491_4F6C_DD1D
                if w == words - 1 && tail != 0 { v &= (1 << UInt64(tail)) - 1 }
                p[r * words + w] = v
            }
        }
        return p
    }
}
