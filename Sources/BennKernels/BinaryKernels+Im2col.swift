import CBennKernels

extension BinaryKernels {
    /// Output size of a convolution along one axis: `(input + 2*pad - kernel) / stride + 1`,
    /// or 0 if the padded input is smaller than the kernel.
    public static func convOutputSize(input: Int, kernel: Int, stride: Int, pad: Int) -> Int {
        precondition(input >= 0 && kernel >= 1 && stride >= 1 && pad >= 0, "invalid convolution geometry")
        let span = input + 2 * pad - kernel
        return span < 0 ? 0 : span / stride + 1
    }

    /// Packed im2col for NHWC binary convolution with +1 padding.
    ///
    /// Input: packed activations `[batch, height, width, wordsPerPixel]`; pixel `(n, y, x)`
    /// starts at `src + ((n * height + y) * width + x) * wordsPerPixel`. Output: one row per
    /// output pixel `(n, oy, ox)` in that order, each `kernelH * kernelW * wordsPerPixel` words:
    /// taps in `(ky, kx)` order, each tap the `wordsPerPixel` words of input pixel
    /// `(oy * strideH - padH + ky, ox * strideW - padW + kx)`, or all-zero words (+1 values) if
    /// that pixel lies in the padding. `dst` must hold
    /// `batch * outHeight * outWidth * kernelH * kernelW * wordsPerPixel` words.
    ///
    /// Pack filter `o` as `[ky][kx][words of Cin]` (each tap padded to `wordsPerPixel` words
    /// with zero tail bits, the same as the activations); then
    /// `gemm(a: dst, lda: rowWords, b: filters, ldb: rowWords, m: batch*outH*outW, n: Cout,
    /// words: rowWords, k: kernelH * kernelW * Cin)` is exactly the convolution, because the
    /// per-tap tail bits are zero in both operands.
    @discardableResult
    public static func im2col(_ src: UnsafePointer<UInt64>, batch: Int, height: Int, width: Int,
                              wordsPerPixel: Int, kernelH: Int, kernelW: Int,
                              strideH: Int, strideW: Int, padH: Int, padW: Int,
                              into dst: UnsafeMutablePointer<UInt64>) -> (outHeight: Int, outWidth: Int) {
        precondition(batch >= 0 && height >= 0 && width >= 0 && wordsPerPixel >= 0, "invalid input shape")
        let oh = convOutputSize(input: height, kernel: kernelH, stride: strideH, pad: padH)
        let ow = convOutputSize(input: width, kernel: kernelW, stride: strideW, pad: padW)
        if batch > 0 && oh > 0 && ow > 0 && wordsPerPixel > 0 {
            benn_im2col(src, batch, height, width, wordsPerPixel, kernelH, kernelW,
                        strideH, strideW, padH, padW, oh, ow, dst)
        }
        return (oh, ow)
    }
}
