import BennBLAS
import BennTensor

/// Forward products of binary x binary layers. Both operands are ±1, so the float
/// product and the XOR/popcount product are the same integers; this is the one place
/// that chooses between them.
enum BinaryForward {
    static func denseProduct(_ x: Tensor, _ w: Tensor, binary: Bool, into y: inout Tensor) {
        BLAS.setThreads(Parallelism.threads)
        MatMul.gemm(x, w, transposeB: true, into: &y)
    }
}
