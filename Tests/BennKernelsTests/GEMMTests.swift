import XCTest
@testable import BennKernels

final class GEMMTests: XCTestCase {
    static let ks = [1, 63, 64, 65, 127, 576, 577, 2048]
    static let mn: [(Int, Int)] = [(1, 1), (7, 13), (13, 7), (33, 65), (70, 33)]

    /// Every path, 1 and 2 threads, float and Int32 output, against float dot products of the
    /// ±1 values; padded strides, and the padding of `out` must stay untouched.
    func testGEMMMatchesFloatDotProducts() {
        var rng = TestRNG(seed: 42)
        for k in Self.ks {
            for (m, n) in Self.mn {
                let words = BinaryKernels.words(forBits: k)
                let lda = words + (m % 2), ldb = words + (n % 3), ldc = n + 3
                let af = rng.signs(m * k), bf = rng.signs(n * k)
                let ref = floatDots(af, bf, m: m, n: n, k: k)
                let a = packed(af, rows: m, cols: k, stride: lda)
                let b = packed(bf, rows: n, cols: k, stride: ldb)
                for path in BinaryKernels.supported {
                    for threads in testThreadCounts {
                        let sentinel: Float = 12345
                        var out = [Float](repeating: sentinel, count: m * ldc)
                        var out32 = [Int32](repeating: -7, count: m * ldc)
                        BinaryKernels.gemm(a: a, lda: lda, b: b, ldb: ldb, m: m, n: n, words: words, k: k,
                                           out: &out, ldc: ldc, threads: threads, path: path)
                        BinaryKernels.gemmInt32(a: a, lda: lda, b: b, ldb: ldb, m: m, n: n, words: words, k: k,
                                                out: &out32, ldc: ldc, threads: threads, path: path)
                        var mismatches = 0
                        for i in 0..<m {
                            for j in 0..<ldc {
                                if j < n {
                                    if out[i * ldc + j] != ref[i * n + j] { mismatches += 1 }
                                    if Float(out32[i * ldc + j]) != ref[i * n + j] { mismatches += 1 }
                                } else {
                                    if out[i * ldc + j] != sentinel || out32[i * ldc + j] != -7 { mismatches += 1 }
                                }
                            }
                        }
                        XCTAssertEqual(mismatches, 0, "path \(path) threads \(threads) m \(m) n \(n) k \(k)")
                    }
                }
            }
        }
    }

    /// Larger, multi-tile shapes: every path and thread count equals the scalar path exactly.
    func testPathsAgreeOnLargerShapes() {
        var rng = TestRNG(seed: 7)
        for (m, n, k) in [(100, 200, 577), (61, 129, 1152), (250, 64, 576), (5, 300, 2048)] {
            let words = BinaryKernels.words(forBits: k)
            let a = packed(rng.signs(m * k), rows: m, cols: k)
            let b = packed(rng.signs(n * k), rows: n, cols: k)
            var ref = [Int32](repeating: 0, count: m * n)
            BinaryKernels.gemmInt32(a: a, lda: words, b: b, ldb: words, m: m, n: n, words: words, k: k,
                                    out: &ref, ldc: n, threads: 1, path: .scalar)
            // Spot-check the scalar reference itself with nonzeroBitCount.
            for (i, j) in [(0, 0), (m - 1, n - 1), (m / 2, n / 3)] {
                var x = 0
                for w in 0..<words { x += (a[i * words + w] ^ b[j * words + w]).nonzeroBitCount }
                XCTAssertEqual(ref[i * n + j], Int32(k - 2 * x))
            }
            for path in BinaryKernels.supported {
                for threads in [1, 2, 3] {
                    var out = [Int32](repeating: 0, count: m * n)
                    BinaryKernels.gemmInt32(a: a, lda: words, b: b, ldb: words, m: m, n: n, words: words, k: k,
                                            out: &out, ldc: n, threads: threads, path: path)
                    XCTAssertEqual(out, ref, "path \(path) threads \(threads) \(m)x\(n)x\(k)")
                }
            }
        }
    }

    /// Pre-packed weights and the scaled output give the same results on every path.
    func testPackedWeightsAndScaledOutput() {
        var rng = TestRNG(seed: 99)
        let (m, n, k) = (37, 70, 577)
        let words = BinaryKernels.words(forBits: k)
        let a = packed(rng.signs(m * k), rows: m, cols: k)
        let b = packed(rng.signs(n * k), rows: n, cols: k, stride: words + 1)
        let scale = (0..<n).map { _ in Float(Int(rng.next() % 2001) - 1000) / 337 }
        let bias = (0..<n).map { _ in Float(Int(rng.next() % 2001) - 1000) / 91 }
        var ref = [Int32](repeating: 0, count: m * n)
        BinaryKernels.gemmInt32(a: a, lda: words, b: b, ldb: words + 1, m: m, n: n, words: words, k: k,
                                out: &ref, ldc: n, path: .scalar)
        let weights = b.withUnsafeBufferPointer {
            PackedWeights($0.baseAddress!, rows: n, words: words, stride: words + 1, threads: 2)
        }
        for path in BinaryKernels.supported {
            for threads in testThreadCounts {
                var out = [Int32](repeating: 0, count: m * n)
                BinaryKernels.gemmInt32(a: a, lda: words, weights: weights, m: m, k: k, out: &out, ldc: n,
                                        threads: threads, path: path)
                XCTAssertEqual(out, ref, "packed weights, path \(path)")
                var f = [Float](repeating: 0, count: m * n)
                BinaryKernels.gemm(a: a, lda: words, weights: weights, m: m, k: k, out: &f, ldc: n,
                                   threads: threads, path: path)
                XCTAssertEqual(f, ref.map { Float($0) })
                var s1 = [Float](repeating: 0, count: m * n), s2 = s1
                BinaryKernels.gemmScaled(a: a, lda: words, b: b, ldb: words + 1, m: m, n: n, words: words, k: k,
                                         scale: scale, bias: bias, out: &s1, ldc: n, threads: threads, path: path)
                BinaryKernels.gemmScaled(a: a, lda: words, weights: weights, m: m, k: k,
                                         scale: scale, bias: nil, out: &s2, ldc: n, threads: threads, path: path)
                var bad = 0
                for i in 0..<m {
                    for j in 0..<n {
                        let p = Float(ref[i * n + j]) * scale[j]
                        if s1[i * n + j] != p + bias[j] { bad += 1 }
                        if s2[i * n + j] != p { bad += 1 }
                    }
                }
                XCTAssertEqual(bad, 0, "scaled output, path \(path) threads \(threads)")
            }
        }
    }

    /// Scaled output is bit-identical on every path, signed zeros included: with even k some
    /// dot products are 0, and 0 * (negative scale) is -0.0, which must stay -0.0 without a bias
    /// (adding a +0 bias would turn it into +0.0).
    func testScaledOutputBitsIdenticalAcrossPaths() {
        var rng = TestRNG(seed: 2024)
        for (m, n, k) in [(37, 70, 64), (13, 130, 576), (5, 65, 2)] {
            let words = BinaryKernels.words(forBits: k)
            let a = packed(rng.signs(m * k), rows: m, cols: k)
            let b = packed(rng.signs(n * k), rows: n, cols: k)
            let scale = (0..<n).map { j in Float(j % 2 == 0 ? -1 : 1) * Float(1 + Int(rng.next() % 1000)) / 337 }
            let bias = (0..<n).map { _ in Float(Int(rng.next() % 2001) - 1000) / 91 }
            for useBias in [false, true] {
                var ref = [Float](repeating: 0, count: m * n)
                BinaryKernels.gemmScaled(a: a, lda: words, b: b, ldb: words, m: m, n: n, words: words, k: k,
                                         scale: scale, bias: useBias ? bias : nil, out: &ref, ldc: n, path: .scalar)
                if !useBias {
                    XCTAssertTrue(ref.contains { $0 == 0 && $0.sign == .minus }, "no -0.0 in the reference, k \(k)")
                }
                for path in BinaryKernels.supported {
                    for threads in testThreadCounts {
                        var out = [Float](repeating: 1, count: m * n)
                        BinaryKernels.gemmScaled(a: a, lda: words, b: b, ldb: words, m: m, n: n, words: words, k: k,
                                                 scale: scale, bias: useBias ? bias : nil, out: &out, ldc: n,
                                                 threads: threads, path: path)
                        XCTAssertEqual(out.map(\.bitPattern), ref.map(\.bitPattern),
                                       "path \(path) threads \(threads) k \(k) bias \(useBias)")
                    }
                }
            }
        }
    }

    /// Extreme operands (every bit different / equal) stress accumulator widths: all-(-1) rows
    /// against all-(+1) rows give -k, equal rows give +k.
    func testExtremeOperands() {
        for k in Self.ks + [4096, 8191] {
            let (m, n) = (7, 70)
            let words = BinaryKernels.words(forBits: k)
            let a = packed([Float](repeating: -1, count: m * k), rows: m, cols: k)
            let bf: [Float] = (0..<n).flatMap { j in [Float](repeating: j % 2 == 0 ? 1 : -1, count: k) }
            let b = packed(bf, rows: n, cols: k)
            let expected: [Int32] = (0..<(m * n)).map { ($0 % n) % 2 == 0 ? Int32(-k) : Int32(k) }
            for path in BinaryKernels.supported {
                for threads in testThreadCounts {
                    var out = [Int32](repeating: 0, count: m * n)
                    BinaryKernels.gemmInt32(a: a, lda: words, b: b, ldb: words, m: m, n: n, words: words, k: k,
                                            out: &out, ldc: n, threads: threads, path: path)
                    XCTAssertEqual(out, expected, "path \(path) k \(k)")
                }
            }
        }
    }

    /// Degenerate sizes do nothing and do not crash.
    func testEmptyShapes() {
        let a: [UInt64] = [0], b: [UInt64] = [0]
        var out: [Float] = [42]
        for path in BinaryKernels.supported {
            BinaryKernels.gemm(a: a, lda: 1, b: b, ldb: 1, m: 0, n: 1, words: 1, k: 1, out: &out, ldc: 1, path: path)
            BinaryKernels.gemm(a: a, lda: 1, b: b, ldb: 1, m: 1, n: 0, words: 1, k: 1, out: &out, ldc: 1, path: path)
            XCTAssertEqual(out, [42])
            BinaryKernels.gemm(a: a, lda: 0, b: b, ldb: 0, m: 1, n: 1, words: 0, k: 0, out: &out, ldc: 1, path: path)
            XCTAssertEqual(out, [0])
            out = [42]
        }
    }
}
