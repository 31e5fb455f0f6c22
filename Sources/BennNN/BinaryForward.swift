import BennBLAS
import BennKernels
import BennTensor

/// Forward products of binary x binary layers. Both operands are ±1, so the float
/// product and the XOR/popcount product are the same integers; this is the one place
/// that chooses between them.
public enum BinaryForward {
    /// When false, binary layers multiply their ±1 floats with BLAS instead of the
    /// packed kernels (for tests and for measuring what the kernels save).
    nonisolated(unsafe) public static var usePackedKernels = true

    /// y = x · wᵀ. With `binary`, x and w are known to hold only ±1 and `latentWeights`
    /// (whose signs are w) is packed directly.
    static func denseProduct(_ x: Tensor, _ w: Tensor, latentWeights: Tensor, binary: Bool, into y: inout Tensor) {
        guard binary && usePackedKernels else {
            BLAS.setThreads(Parallelism.threads)
            MatMul.gemm(x, w, transposeB: true, into: &y)
            return
        }
        let m = x.rows, k = x.rowSize, n = w.rows
        let words = BinaryKernels.words(forBits: k)
        var xa = [UInt64](repeating: 0, count: m * words)
        var wb = [UInt64](repeating: 0, count: n * words)
        x.withPointer { BinaryKernels.pack($0, rows: m, cols: k, srcStride: k, into: &xa, dstStride: words) }
        latentWeights.withPointer { BinaryKernels.pack($0, rows: n, cols: k, srcStride: k, into: &wb, dstStride: words) }
        y.withMutablePointer { py in
            BinaryKernels.gemm(a: xa, lda: words, b: wb, ldb: words, m: m, n: n, words: words, k: k,
                               out: py, ldc: n, threads: Parallelism.threads)
        }
    }

    /// Binary NHWC convolution with +1 padding on packed bits: pixels are packed along
    /// channels, lowered with packed im2col, and multiplied with the packed filters
    /// (each tap's channel words zero-tailed in both operands, so k is the true count).
    static func convolution(_ x: Tensor, latentWeights: Tensor, geometry g: ConvGeometry, outChannels: Int,
                            into y: inout Tensor) {
        let batch = x.rows, cin = g.channels
        let wpp = BinaryKernels.words(forBits: cin)
        let taps = g.kernelH * g.kernelW
        let rowWords = taps * wpp
        var packedInput = [UInt64](repeating: 0, count: batch * g.inPixels * wpp)
        x.withPointer { BinaryKernels.pack($0, rows: batch * g.inPixels, cols: cin, srcStride: cin, into: &packedInput, dstStride: wpp) }
        var filters = [UInt64](repeating: 0, count: outChannels * rowWords)
        latentWeights.withPointer {
            BinaryKernels.pack($0, rows: outChannels * taps, cols: cin, srcStride: cin, into: &filters, dstStride: wpp)
        }
        let rows = batch * g.outPixels
        var cols = [UInt64](repeating: 0, count: rows * rowWords)
        BinaryKernels.im2col(packedInput, batch: batch, height: g.height, width: g.width, wordsPerPixel: wpp,
                             kernelH: g.kernelH, kernelW: g.kernelW, strideH: g.stride, strideW: g.stride,
                             padH: g.pad, padW: g.pad, into: &cols)
        y.withMutablePointer { py in
            BinaryKernels.gemm(a: cols, lda: rowWords, b: filters, ldb: rowWords, m: rows, n: outChannels,
                               words: rowWords, k: taps * cin, out: py, ldc: outChannels, threads: Parallelism.threads)
        }
    }
}
