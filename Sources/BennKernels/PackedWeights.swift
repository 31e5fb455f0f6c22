import CBennKernels

/// A B operand (e.g. binary weights: `rows` filters of `words` packed words) packed once into
/// the layouts every kernel path reads, so repeated GEMMs skip the per-call panel packing.
///
/// Immutable after initialisation; safe to share between threads.
public final class PackedWeights: @unchecked Sendable {
    /// Number of packed rows (the GEMM's `n`).
    public let rows: Int
    /// Words per row.
    public let words: Int
    /// Compact row-major copy (stride `words`), read by the scalar path.
    let raw: UnsafeMutablePointer<UInt64>
    /// Column-panel layout, read by the SIMD paths.
    let panels: PanelBuffer

    /// Copies `rows` rows of `words` words (row `j` at `b + j*stride`).
    public init(_ b: UnsafePointer<UInt64>, rows: Int, words: Int, stride: Int, threads: Int = 1) {
        precondition(rows >= 0 && words >= 0 && stride >= words && threads >= 1, "invalid shape")
        self.rows = rows
        self.words = words
        raw = .allocate(capacity: max(1, rows * words))
        for j in 0..<rows { (raw + j * words).update(from: b + j * stride, count: words) }
        panels = PanelBuffer(n: rows, words: words)
        panels.fill(from: b, ldb: stride, n: rows, words: words, threads: threads)
    }

    deinit {
        raw.deallocate()
        panels.deallocate()
    }
}

extension BinaryKernels {
    /// ``gemm(a:lda:b:ldb:m:n:words:k:out:ldc:threads:path:)`` with a pre-packed B
    /// (`n = weights.rows`, `words = weights.words`).
    public static func gemm(a: UnsafePointer<UInt64>, lda: Int, weights: PackedWeights, m: Int, k: Int,
                            out: UnsafeMutablePointer<Float>, ldc: Int,
                            threads: Int = 1, path: KernelPath = active) {
        run(weights, a: a, lda: lda, m: m, k: k, output: .float(out), ldc: ldc, threads: threads, path: path)
    }

    /// ``gemmInt32(a:lda:b:ldb:m:n:words:k:out:ldc:threads:path:)`` with a pre-packed B.
    public static func gemmInt32(a: UnsafePointer<UInt64>, lda: Int, weights: PackedWeights, m: Int, k: Int,
                                 out: UnsafeMutablePointer<Int32>, ldc: Int,
                                 threads: Int = 1, path: KernelPath = active) {
        run(weights, a: a, lda: lda, m: m, k: k, output: .int32(out), ldc: ldc, threads: threads, path: path)
    }

    /// ``gemmScaled(a:lda:b:ldb:m:n:words:k:scale:bias:out:ldc:threads:path:)`` with a pre-packed B.
    public static func gemmScaled(a: UnsafePointer<UInt64>, lda: Int, weights: PackedWeights, m: Int, k: Int,
                                  scale: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                  out: UnsafeMutablePointer<Float>, ldc: Int,
                                  threads: Int = 1, path: KernelPath = active) {
        run(weights, a: a, lda: lda, m: m, k: k, output: .scaled(out, scale: scale, bias: bias),
            ldc: ldc, threads: threads, path: path)
    }

    /// ``gemmThreshold(a:lda:b:ldb:m:n:words:k:thresholds:flip:out:outStride:threads:path:)``
    /// with a pre-packed B.
    public static func gemmThreshold(a: UnsafePointer<UInt64>, lda: Int, weights: PackedWeights, m: Int, k: Int,
                                     thresholds: UnsafePointer<Int32>, flip: UnsafePointer<UInt8>?,
                                     out: UnsafeMutablePointer<UInt64>, outStride: Int,
                                     threads: Int = 1, path: KernelPath = active) {
        run(weights, a: a, lda: lda, m: m, k: k, output: .threshold(out, thresholds: thresholds, flip: flip),
            ldc: outStride, threads: threads, path: path)
    }

    private static func run(_ w: PackedWeights, a: UnsafePointer<UInt64>, lda: Int, m: Int, k: Int,
                            output: GEMMOutput, ldc: Int, threads: Int, path: KernelPath) {
        withExtendedLifetime(w) {
            runGEMM(a: a, lda: lda, b: UnsafePointer(w.raw), ldb: w.words,
                    panels: UnsafePointer(w.panels.pointer), m: m, n: w.rows, words: w.words, k: k,
                    output: output, ldc: ldc, threads: threads, path: path)
        }
    }
}
