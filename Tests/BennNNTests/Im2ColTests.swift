import XCTest
import BennRandom
@testable import BennNN

/// The float im2col / col2im behind every convolution's backward pass, against loops that
/// read one tap at a time, on geometries with every edge case: taps left and right of the
/// image, whole rows of padding, strides that skip pixels, one channel and many.
final class Im2ColTests: XCTestCase {
    static let geometries: [ConvGeometry] = [
        ConvGeometry(height: 5, width: 6, channels: 3, kernelH: 3, kernelW: 3, stride: 1, pad: 1),
        ConvGeometry(height: 7, width: 7, channels: 1, kernelH: 3, kernelW: 3, stride: 2, pad: 1),
        ConvGeometry(height: 6, width: 5, channels: 16, kernelH: 1, kernelW: 1, stride: 2, pad: 0),
        ConvGeometry(height: 4, width: 4, channels: 2, kernelH: 5, kernelW: 5, stride: 1, pad: 2),
        ConvGeometry(height: 3, width: 8, channels: 5, kernelH: 3, kernelW: 2, stride: 3, pad: 1),
        ConvGeometry(height: 2, width: 2, channels: 4, kernelH: 1, kernelW: 1, stride: 1, pad: 1),
        ConvGeometry(height: 9, width: 9, channels: 64, kernelH: 3, kernelW: 3, stride: 2, pad: 1),
    ]

    /// (image, input pixel) each tap of each row reads, nil for padding.
    func taps(_ g: ConvGeometry, images: Int) -> [(Int, Int)?] {
        var taps: [(Int, Int)?] = []
        for n in 0..<images {
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    for ky in 0..<g.kernelH {
                        for kx in 0..<g.kernelW {
                            let iy = oy * g.stride + ky - g.pad, ix = ox * g.stride + kx - g.pad
                            let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                            taps.append(inside ? (n, iy * g.width + ix) : nil)
                        }
                    }
                }
            }
        }
        return taps
    }

    func testIm2colReadsEachTapOrThePadValue() {
        var rng = SeededGenerator(seed: 21)
        for g in Self.geometries {
            let images = 2
            let x = (0..<(images * g.inPixels * g.channels)).map { _ in rng.uniform(-1, 1) }
            var cols = [Float](repeating: .nan, count: images * g.outPixels * g.patch)
            x.withUnsafeBufferPointer { px in
                cols.withUnsafeMutableBufferPointer { g.im2col(px.baseAddress!, images: images, padValue: 7, into: $0.baseAddress!) }
            }
            var expected: [Float] = []
            for tap in taps(g, images: images) {
                for ch in 0..<g.channels {
                    expected.append(tap.map { x[($0.0 * g.inPixels + $0.1) * g.channels + ch] } ?? 7)
                }
            }
            XCTAssertEqual(cols, expected, "\(g)")
        }
    }

    /// Every column entry goes back to the pixel it was read from, added in row order, so
    /// the sums are the reference's to the last bit.
    func testCol2imAddsEachEntryBackInRowOrder() {
        var rng = SeededGenerator(seed: 22)
        for g in Self.geometries {
            let images = 2
            let cols = (0..<(images * g.outPixels * g.patch)).map { _ in rng.uniform(-1, 1) }
            let start = (0..<(images * g.inPixels * g.channels)).map { _ in rng.uniform(-1, 1) }
            var dx = start
            cols.withUnsafeBufferPointer { pc in
                dx.withUnsafeMutableBufferPointer { g.col2im(pc.baseAddress!, images: images, into: $0.baseAddress!) }
            }
            var expected = start
            for (t, tap) in taps(g, images: images).enumerated() {
                guard let (n, pixel) = tap else { continue }
                for ch in 0..<g.channels { expected[(n * g.inPixels + pixel) * g.channels + ch] += cols[t * g.channels + ch] }
            }
            XCTAssertEqual(dx, expected, "\(g)")
        }
    }
}
