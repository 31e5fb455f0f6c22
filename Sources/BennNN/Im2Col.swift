import CBennOps

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
        benn_im2col_f32(x, images, height, width, channels, kernelH, kernelW, stride, pad, padValue, cols)
    }

    /// Adds each column entry back into the input-gradient image it came from.
    func col2im(_ cols: UnsafePointer<Float>, images: Int, into dx: UnsafeMutablePointer<Float>) {
        benn_col2im_f32(cols, images, height, width, channels, kernelH, kernelW, stride, pad, dx)
    }
}
