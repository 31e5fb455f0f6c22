import XCTest
@testable import BennKernels

/// Deterministic SplitMix64 generator for test data.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    /// ±1 values, with some exact zeros (which must count as +1).
    mutating func signs(_ count: Int) -> [Float] {
        (0..<count).map { _ in
            switch next() % 8 {
            case 0: return 0.0
            case 1: return -0.0
            case 2, 3, 4: return -1.0
            default: return 1.0
            }
        }
    }
}

/// sign with sign(0) = +1, as ±1 Float.
func pm1(_ v: Float) -> Float { v < 0 ? -1 : 1 }

/// Packs a row-major `rows x cols` float matrix into `stride` words per row with a given path.
func packed(_ values: [Float], rows: Int, cols: Int, stride: Int? = nil, path: KernelPath = .scalar) -> [UInt64] {
    let s = stride ?? BinaryKernels.words(forBits: cols)
    var out = [UInt64](repeating: 0xDEAD_BEEF, count: max(1, rows * s))
    values.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            BinaryKernels.pack(src.baseAddress!, rows: rows, cols: cols, srcStride: cols,
                               into: dst.baseAddress!, dstStride: s, path: path)
        }
    }
    return out
}

/// Float dot products of the ±1 rows: ref[i*n + j] = Σ_t sign(a[i][t]) * sign(b[j][t]).
func floatDots(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
    let sa = a.map(pm1), sb = b.map(pm1)
    var ref = [Float](repeating: 0, count: m * n)
    sa.withUnsafeBufferPointer { pa in
        sb.withUnsafeBufferPointer { pb in
            for i in 0..<m {
                for j in 0..<n {
                    var s: Float = 0
                    for t in 0..<k { s += pa[i * k + t] * pb[j * k + t] }
                    ref[i * n + j] = s
                }
            }
        }
    }
    return ref
}

/// Thread counts every kernel test runs with.
let testThreadCounts = [1, 2]
