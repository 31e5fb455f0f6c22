import XCTest
@testable import BennKernels

final class Im2colTests: XCTestCase {
    func testConvOutputSize() {
        XCTAssertEqual(BinaryKernels.convOutputSize(input: 5, kernel: 3, stride: 1, pad: 1), 5)
        XCTAssertEqual(BinaryKernels.convOutputSize(input: 5, kernel: 3, stride: 2, pad: 1), 3)
        XCTAssertEqual(BinaryKernels.convOutputSize(input: 6, kernel: 3, stride: 2, pad: 0), 2)
        XCTAssertEqual(BinaryKernels.convOutputSize(input: 2, kernel: 5, stride: 1, pad: 1), 0)
        XCTAssertEqual(BinaryKernels.convOutputSize(input: 28, kernel: 3, stride: 1, pad: 0), 26)
    }

    /// im2col + gemm equals a direct float NHWC convolution of the ±1 values with +1 padding.
    func testIm2colGEMMEqualsDirectConvolution() {
        var rng = TestRNG(seed: 23)
        let (kh, kw, cout) = (3, 3, 5)
        for batch in [1, 3] {
            for cin in [1, 3, 64, 65, 128] {
                for stride in [1, 2] {
                    for pad in [0, 1] {
                        let (h, w) = batch == 3 && cin >= 64 ? (4, 5) : (6, 5)
                        check(batch: batch, h: h, w: w, cin: cin, cout: cout, kh: kh, kw: kw,
                              stride: stride, pad: pad, rng: &rng)
                    }
                }
            }
        }
        // A non-square kernel with asymmetric stride.
        check(batch: 2, h: 7, w: 6, cin: 5, cout: 3, kh: 1, kw: 3, stride: 1, pad: 1, strideW: 2, rng: &rng)
    }

    private func check(batch: Int, h: Int, w: Int, cin: Int, cout: Int, kh: Int, kw: Int,
                       stride: Int, pad: Int, strideW: Int? = nil, rng: inout TestRNG) {
        let sw = strideW ?? stride
        let x = rng.signs(batch * h * w * cin).map(pm1)
        let wt = rng.signs(cout * kh * kw * cin).map(pm1)  // [o][ky][kx][c]
        let wpp = BinaryKernels.words(forBits: cin)
        let xp = packed(x, rows: batch * h * w, cols: cin, stride: wpp)
        let wp = packed(wt, rows: cout * kh * kw, cols: cin, stride: wpp)
        let oh = BinaryKernels.convOutputSize(input: h, kernel: kh, stride: stride, pad: pad)
        let ow = BinaryKernels.convOutputSize(input: w, kernel: kw, stride: sw, pad: pad)
        let rowWords = kh * kw * wpp
        let m = batch * oh * ow
        var cols = [UInt64](repeating: 0xFFFF, count: max(1, m * rowWords))
        let size = BinaryKernels.im2col(xp, batch: batch, height: h, width: w, wordsPerPixel: wpp,
                                        kernelH: kh, kernelW: kw, strideH: stride, strideW: sw,
                                        padH: pad, padW: pad, into: &cols)
        XCTAssertEqual(size.outHeight, oh)
        XCTAssertEqual(size.outWidth, ow)
        // Direct convolution, +1 outside the image.
        var ref = [Float](repeating: 0, count: m * cout)
        for n in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for o in 0..<cout {
                        var s: Float = 0
                        for ky in 0..<kh {
                            for kx in 0..<kw {
                                let y = oy * stride - pad + ky, xx = ox * sw - pad + kx
                                let inside = y >= 0 && y < h && xx >= 0 && xx < w
                                for c in 0..<cin {
                                    let v: Float = inside ? x[((n * h + y) * w + xx) * cin + c] : 1
                                    s += v * wt[((o * kh + ky) * kw + kx) * cin + c]
                                }
                            }
                        }
                        ref[((n * oh + oy) * ow + ox) * cout + o] = s
                    }
                }
            }
        }
        for path in BinaryKernels.supported {
            for threads in testThreadCounts {
                var out = [Float](repeating: .nan, count: m * cout)
                BinaryKernels.gemm(a: cols, lda: rowWords, b: wp, ldb: rowWords, m: m, n: cout,
                                   words: rowWords, k: kh * kw * cin, out: &out, ldc: cout,
                                   threads: threads, path: path)
                XCTAssertEqual(out, ref, "batch \(batch) cin \(cin) stride \(stride)/\(sw) pad \(pad) path \(path) threads \(threads)")
            }
        }
    }
}
