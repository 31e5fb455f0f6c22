/// Float im2col / col2im for NHWC convolutions.
///
/// Rows are output pixels (n, oy, ox); a row holds the taps in (ky, kx) order, each tap
/// the input pixel's C channels. Out-of-image taps read `padValue` (0 for real inputs,
/// +1 for binarized inputs so the packed kernels need no correction).
struct ConvGeometry: Sendable, Equatable {
    let height: Int, width: Int, channels: Int
    let kernelH: Int, kernelW: Int, stride: Int, pad: Int
    var outHeight: Int { (height + 2 * pad - kernelH) / stride + 1 }
    var outWidth: Int { (width + 2 * pad - kernelW) / stride + 1 }
    var patch: Int { kernelH * kernelW * channels }
    var outPixels: Int { outHeight * outWidth }
    var inPixels: Int { height * width }

    /// Fills `cols` for `images` images starting at `x` (NHWC).
    func im2col(_ x: UnsafePointer<Float>, images: Int, padValue: Float, into cols: UnsafeMutablePointer<Float>) {
        let c = channels, oh = outHeight, ow = outWidth, k = patch
        for n in 0..<images {
            let img = x + n * height * width * c
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var dst = cols + ((n * oh + oy) * ow + ox) * k
                    for ky in 0..<kernelH {
                        let iy = oy * stride - pad + ky
                        for kx in 0..<kernelW {
                            let ix = ox * stride - pad + kx
                            if iy >= 0 && iy < height && ix >= 0 && ix < width {
                                dst.update(from: img + (iy * width + ix) * c, count: c)
                            } else {
                                dst.update(repeating: padValue, count: c)
                            }
                            dst += c
                        }
                    }
                }
            }
        }
    }

    /// Adds each column entry back into the input-gradient image it came from.
    func col2im(_ cols: UnsafePointer<Float>, images: Int, into dx: UnsafeMutablePointer<Float>) {
        let c = channels, oh = outHeight, ow = outWidth, k = patch
        for n in 0..<images {
            let img = dx + n * height * width * c
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var src = cols + ((n * oh + oy) * ow + ox) * k
                    for ky in 0..<kernelH {
                        let iy = oy * stride - pad + ky
                        for kx in 0..<kernelW {
                            let ix = ox * stride - pad + kx
                            if iy >= 0 && iy < height && ix >= 0 && ix < width {
                                let d = img + (iy * width + ix) * c
                                for j in 0..<c { d[j] += src[j] }
                            }
                            src += c
                        }
                    }
                }
            }
        }
    }
}
