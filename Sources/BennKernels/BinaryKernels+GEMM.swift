import CBennKernels

extension BinaryKernels {
    /// Binary GEMM with float output: `out[i*ldc + j] = Float(k - 2*popcount(a_i XOR b_j))` for
    /// `i < m`, `j < n`, where `a_i = a + i*lda` and `b_j = b + j*ldb` are packed rows of
    /// `words` words and `k` is the true bit count (tail bits must be zero in both operands).
    ///
    /// The result is the exact ±1 dot product of the unpacked rows. The AVX-512 path copies B
    /// into 64-column panels (the AVX2 path too) and runs a register-blocked 6-row x 64-column
    /// micro-kernel (VPOPCNTD on 32-bit half-words, 24 zmm accumulators), so any word count is
    /// handled without tail cases; rows are cache-blocked. With `threads > 1` the output is split
    /// into row x 64-column tiles run with `DispatchQueue.concurrentPerform`; `threads == 1` runs
    /// inline. Results are identical for every path and thread count. Use ``PackedWeights`` to
    /// pack B once and reuse it.
    ///
    /// - Precondition: `lda >= words`, `ldb >= words`, `ldc >= n`, `0 <= k <= 64*words`.
    public static func gemm(a: UnsafePointer<UInt64>, lda: Int, b: UnsafePointer<UInt64>, ldb: Int,
                            m: Int, n: Int, words: Int, k: Int,
                            out: UnsafeMutablePointer<Float>, ldc: Int,
                            threads: Int = 1, path: KernelPath = active) {
        runGEMM(a: a, lda: lda, b: b, ldb: ldb, panels: nil, m: m, n: n, words: words, k: k,
                output: .float(out), ldc: ldc, threads: threads, path: path)
    }

    /// Binary GEMM with Int32 output: `out[i*ldc + j] = k - 2*popcount(a_i XOR b_j)`.
    /// Same arguments and guarantees as ``gemm(a:lda:b:ldb:m:n:words:k:out:ldc:threads:path:)``.
    public static func gemmInt32(a: UnsafePointer<UInt64>, lda: Int, b: UnsafePointer<UInt64>, ldb: Int,
                                 m: Int, n: Int, words: Int, k: Int,
                                 out: UnsafeMutablePointer<Int32>, ldc: Int,
                                 threads: Int = 1, path: KernelPath = active) {
        runGEMM(a: a, lda: lda, b: b, ldb: ldb, panels: nil, m: m, n: n, words: words, k: k,
                output: .int32(out), ldc: ldc, threads: threads, path: path)
    }

    /// Binary GEMM with a per-column affine post-op (folded batch norm / XNOR scale / bias):
    /// `out[i*ldc + j] = Float(k - 2x) * scale[j] + bias[j]` (`+ 0` if `bias` is nil), with the
    /// product and the sum rounded separately (no FMA), so that every path gives identical bits.
    /// `scale` and `bias` hold `n` floats.
    public static func gemmScaled(a: UnsafePointer<UInt64>, lda: Int, b: UnsafePointer<UInt64>, ldb: Int,
                                  m: Int, n: Int, words: Int, k: Int,
                                  scale: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                  out: UnsafeMutablePointer<Float>, ldc: Int,
                                  threads: Int = 1, path: KernelPath = active) {
        runGEMM(a: a, lda: lda, b: b, ldb: ldb, panels: nil, m: m, n: n, words: words, k: k,
                output: .scaled(out, scale: scale, bias: bias), ldc: ldc, threads: threads, path: path)
    }
}
