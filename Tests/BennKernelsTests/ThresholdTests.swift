import XCTest
@testable import BennKernels

final class ThresholdTests: XCTestCase {
    /// gemmThreshold equals thresholding the gemmInt32 result, on every path and thread count;
    /// tail bits are zero and words past words(forBits: n) untouched.
    func testThresholdMatchesInt32GEMM() {
        var rng = TestRNG(seed: 11)
        for (m, n, k) in [(1, 1, 1), (7, 13, 65), (13, 64, 576), (20, 65, 577), (9, 130, 2048)] {
            let words = BinaryKernels.words(forBits: k)
            let a = packed(rng.signs(m * k), rows: m, cols: k)
            let b = packed(rng.signs(n * k), rows: n, cols: k)
            var z = [Int32](repeating: 0, count: m * n)
            BinaryKernels.gemmInt32(a: a, lda: words, b: b, ldb: words, m: m, n: n, words: words, k: k,
                                    out: &z, ldc: n, path: .scalar)
            let thresholds = (0..<n).map { _ in Int32(rng.int(-2...(k + 2))) }
            let flip = (0..<n).map { _ in UInt8(rng.next() % 3 == 0 ? 1 : 0) }
            let outWords = BinaryKernels.words(forBits: n), outStride = outWords + 1
            var expected = [UInt64](repeating: 0x5555, count: m * outStride)
            for i in 0..<m {
                for w in 0..<outWords { expected[i * outStride + w] = 0 }
                for j in 0..<n {
                    let x = (Int32(k) - z[i * n + j]) / 2
                    let bit = flip[j] != 0 ? x < thresholds[j] : x > thresholds[j]
                    if bit { expected[i * outStride + j / 64] |= 1 << UInt64(j % 64) }
                }
            }
            for path in BinaryKernels.supported {
                for threads in testThreadCounts {
                    var out = [UInt64](repeating: 0x5555, count: m * outStride)
                    BinaryKernels.gemmThreshold(a: a, lda: words, b: b, ldb: words, m: m, n: n, words: words, k: k,
                                                thresholds: thresholds, flip: flip, out: &out, outStride: outStride,
                                                threads: threads, path: path)
                    XCTAssertEqual(out, expected, "path \(path) threads \(threads) \(m)x\(n)x\(k)")
                    // flip == nil means all channels unflipped.
                    var out2 = [UInt64](repeating: 0, count: m * outStride)
                    BinaryKernels.gemmThreshold(a: a, lda: words, b: b, ldb: words, m: m, n: n, words: words, k: k,
                                                thresholds: thresholds, flip: nil, out: &out2, outStride: outStride,
                                                threads: threads, path: path)
                    for i in 0..<m {
                        for j in 0..<n {
                            let x = (Int32(k) - z[i * n + j]) / 2
                            let bit = (out2[i * outStride + j / 64] >> UInt64(j % 64)) & 1 == 1
                            XCTAssertEqual(bit, x > thresholds[j])
                        }
                    }
                }
            }
        }
    }

    /// foldThreshold reproduces "bit = 1 iff (k - 2x) * scale + bias < 0" for every x.
    func testFoldThreshold() {
        var rng = TestRNG(seed: 3)
        let k = 75
        var cases: [(Double, Double)] = [(1, 0), (-1, 0), (0, -1), (0, 1), (0, 0), (2, -1000), (2, 1000),
                                         (-3, 1000), (-3, -1000), (.nan, 1), (1, .nan)]
        // Exact ties: y == 0 at x0 must give bit 0.
        for x0 in [0, 1, 37, 75] {
            cases.append((1, -Double(k - 2 * x0)))
            cases.append((-1, Double(k - 2 * x0)))
            cases.append((0.5, -0.5 * Double(k - 2 * x0)))
        }
        for _ in 0..<300 {
            let s = Double(Int(rng.next() % 20001) - 10000) / 1234.5
            let b = Double(Int(rng.next() % 20001) - 10000) / 97.25
            cases.append((s, b))
        }
        for (scale, bias) in cases {
            let (t, f) = BinaryKernels.foldThreshold(scale: scale, bias: bias, k: k)
            for x in 0...k {
                let y = Double(k - 2 * x) * scale + bias
                let want = y < 0
                let got = f != 0 ? Int32(x) < t : Int32(x) > t
                XCTAssertEqual(got, want, "scale \(scale) bias \(bias) x \(x) -> t \(t) flip \(f)")
            }
        }
    }

    /// End to end: folded thresholds give the packed sign of the affine GEMM output.
    func testFoldedThresholdGEMMEqualsPackedAffine() {
        var rng = TestRNG(seed: 17)
        let (m, n, k) = (19, 70, 288)
        let words = BinaryKernels.words(forBits: k)
        let a = packed(rng.signs(m * k), rows: m, cols: k)
        let b = packed(rng.signs(n * k), rows: n, cols: k)
        let scale = (0..<n).map { j in Float(j % 3 == 0 ? -1 : 1) * Float(1 + Int(rng.next() % 100)) / 64 }
        let bias = (0..<n).map { _ in Float(Int(rng.next() % 401) - 200) / 8 }
        let folded = (0..<n).map { BinaryKernels.foldThreshold(scale: Double(scale[$0]), bias: Double(bias[$0]), k: k) }
        var y = [Float](repeating: 0, count: m * n)
        BinaryKernels.gemmScaled(a: a, lda: words, b: b, ldb: words, m: m, n: n, words: words, k: k,
                                 scale: scale, bias: bias, out: &y, ldc: n, path: .scalar)
        // scale is a multiple of 1/64 and bias of 1/8, so y is exact in Float.
        let expected = packed(y, rows: m, cols: n)
        for path in BinaryKernels.supported {
            var out = [UInt64](repeating: 0, count: m * BinaryKernels.words(forBits: n))
            BinaryKernels.gemmThreshold(a: a, lda: words, b: b, ldb: words, m: m, n: n, words: words, k: k,
                                        thresholds: folded.map(\.threshold), flip: folded.map(\.flip),
                                        out: &out, outStride: BinaryKernels.words(forBits: n), threads: 2, path: path)
            XCTAssertEqual(out, expected, "path \(path)")
        }
    }
}
