import BennBLAS

/// Matrix products on tensors, routed to BLAS. Tensors are viewed as 2-D: rows = first
/// dimension, columns = the rest.
public enum MatMul {
    /// c = alpha * op(a) * op(b) + beta * c.
    public static func gemm(_ a: Tensor, transposeA: Bool = false,
                            _ b: Tensor, transposeB: Bool = false,
                            into c: inout Tensor, alpha: Float = 1, beta: Float = 0) {
        let (ar, ac) = (a.rows, a.rowSize)
        let (br, bc) = (b.rows, b.rowSize)
        let m = transposeA ? ac : ar, k = transposeA ? ar : ac
        let kb = transposeB ? bc : br, n = transposeB ? br : bc
        precondition(k == kb, "gemm: inner dimensions differ (\(a.shape) x \(b.shape))")
        precondition(c.rows == m && c.rowSize == n, "gemm: output \(c.shape) is not \(m)x\(n)")
        a.withPointer { pa in
            b.withPointer { pb in
                c.withMutablePointer { pc in
                    BLAS.sgemm(transposeA ? .transpose : .none, transposeB ? .transpose : .none,
                               m: m, n: n, k: k, alpha: alpha, a: pa, lda: ac, b: pb, ldb: bc,
                               beta: beta, c: pc, ldc: n)
                }
            }
        }
    }
}
