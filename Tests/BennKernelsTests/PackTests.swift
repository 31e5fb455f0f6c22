import XCTest
@testable import BennKernels

final class PackTests: XCTestCase {
    func testWordsForBits() {
        XCTAssertEqual(BinaryKernels.words(forBits: 0), 0)
        XCTAssertEqual(BinaryKernels.words(forBits: 1), 1)
        XCTAssertEqual(BinaryKernels.words(forBits: 64), 1)
        XCTAssertEqual(BinaryKernels.words(forBits: 65), 2)
        XCTAssertEqual(BinaryKernels.words(forBits: 576), 9)
    }

    func testZerosNaNAndSpecialValues() {
        let values: [Float] = [0.0, -0.0, .nan, -.nan, 1, -1, .infinity, -.infinity,
                               -Float.leastNonzeroMagnitude, Float.leastNonzeroMagnitude, -1e-30, 3]
        // Negative: -1 (5), -inf (7), -leastNonzero (8), -1e-30 (10); zeros and NaNs give 0.
        let expected: UInt64 = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 10)
        for path in BinaryKernels.supported {
            let p = packed(values, rows: 1, cols: values.count, path: path)
            XCTAssertEqual(p, [expected], "path \(path)")
        }
    }

    /// Exact bits including tails, source and destination strides, untouched padding words.
    func testPackMatchesReference() {
        var rng = TestRNG(seed: 5)
        for cols in [1, 15, 16, 17, 63, 64, 65, 127, 130, 576] {
            for rows in [1, 3] {
                let srcStride = cols + 5
                let words = BinaryKernels.words(forBits: cols)
                let dstStride = words + 2
                let src: [Float] = (0..<(rows * srcStride)).map { _ in
                    let r = rng.next()
                    switch r % 6 {
                    case 0: return 0.0
                    case 1: return -0.0
                    default: return Float(Int(r >> 8 % 2001) - 1000) / 100 + (r % 2 == 0 ? 0.005 : -0.005)
                    }
                }
                var expected = [UInt64](repeating: 0xAAAA, count: rows * dstStride)
                for r in 0..<rows {
                    for w in 0..<words { expected[r * dstStride + w] = 0 }
                    for j in 0..<cols where src[r * srcStride + j] < 0 {
                        expected[r * dstStride + j / 64] |= 1 << UInt64(j % 64)
                    }
                }
                for path in BinaryKernels.supported {
                    var dst = [UInt64](repeating: 0xAAAA, count: rows * dstStride)
                    src.withUnsafeBufferPointer { s in
                        BinaryKernels.pack(s.baseAddress!, rows: rows, cols: cols, srcStride: srcStride,
                                           into: &dst, dstStride: dstStride, path: path)
                    }
                    XCTAssertEqual(dst, expected, "path \(path) cols \(cols) rows \(rows)")
                }
            }
        }
    }
}
