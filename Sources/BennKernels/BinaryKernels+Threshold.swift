import CBennKernels

extension BinaryKernels {
    /// Fused binary GEMM + threshold, writing bit-packed output for the next binary layer.
    ///
    /// For each `i < m`, `j < n` let `x = popcount(a_i XOR b_j)` (the XOR-popcount count, in
    /// `0...k`, *not* `k - 2x`). Bit `j % 64` of word `j / 64` of output row `i`
    /// (at `out + i*outStride`) is
    /// - `x > thresholds[j]` if `flip == nil` or `flip[j] == 0`,
    /// - `x < thresholds[j]` if `flip[j] != 0`.
    ///
    /// Tail bits past `n` are zero; words past `words(forBits: n)` are not touched. The output is
    /// packed exactly like ``pack(_:rows:cols:srcStride:into:dstStride:path:)`` would pack the
    /// values `y` whose sign it encodes (bit 1 = negative). To fold `y = (k - 2x) * scale + bias`
    /// followed by `sign` (bit 1 iff `y < 0`, `sign(0) = +1`), use
    /// ``foldThreshold(scale:bias:k:)`` per output channel. `x > thresholds[j]` with
    /// `thresholds[j] = -1` is always 1 and with `thresholds[j] >= k` always 0.
    ///
    /// - Precondition: `thresholds` holds `n` values, `flip` (if not nil) `n` bytes,
    ///   `outStride >= words(forBits: n)`, and the other arguments as for ``gemm(a:lda:b:ldb:m:n:words:k:out:ldc:threads:path:)``.
    public static func gemmThreshold(a: UnsafePointer<UInt64>, lda: Int, b: UnsafePointer<UInt64>, ldb: Int,
                                     m: Int, n: Int, words: Int, k: Int,
                                     thresholds: UnsafePointer<Int32>, flip: UnsafePointer<UInt8>?,
                                     out: UnsafeMutablePointer<UInt64>, outStride: Int,
                                     threads: Int = 1, path: KernelPath = active) {
        runGEMM(a: a, lda: lda, b: b, ldb: ldb, panels: nil, m: m, n: n, words: words, k: k,
                output: .threshold(out, thresholds: thresholds, flip: flip), ldc: outStride,
                threads: threads, path: path)
    }

    /// Folds "affine then sign" into the integer rule of
    /// ``gemmThreshold(a:lda:b:ldb:m:n:words:k:thresholds:flip:out:outStride:threads:path:)``.
    ///
    /// With `z = k - 2x` and `y = z * scale + bias` (e.g. `scale = α·γ/sqrt(σ²+ε)`,
    /// `bias = β - γ·μ/sqrt(σ²+ε)` plus any shift before the sign), the returned pair gives
    /// bit 1 exactly when `y < 0` (evaluated in exact arithmetic; `y == 0` gives bit 0 = +1),
    /// for every `x` in `0...k`:
    /// - `scale > 0`: `y < 0 ⇔ x > (k + bias/scale)/2`, threshold `floor` of that, flip 0;
    /// - `scale < 0`: `y < 0 ⇔ x < (k + bias/scale)/2`, threshold `ceil` of that, flip 1
    ///   (no need to negate the filter);
    /// - `scale == 0`: constant `bias < 0` (threshold -1 = always 1, or `k` = always 0);
    /// - NaN `scale` or `bias`: bit 0 (a NaN `y` is not `< 0`).
    /// Thresholds are clamped to `-1...k` (flip 0) or `0...k+1` (flip 1).
    public static func foldThreshold(scale: Double, bias: Double, k: Int) -> (threshold: Int32, flip: UInt8) {
        precondition(k >= 0 && k < Int(Int32.max), "k out of range")
        if scale.isNaN || bias.isNaN { return (Int32(k), 0) }
        if scale == 0 { return (bias < 0 ? -1 : Int32(k), 0) }
        let t = (Double(k) + bias / scale) / 2
        if scale > 0 {
            let f = t.rounded(.down)
            let c = f < -1 ? -1 : (f > Double(k) ? Double(k) : f)
            return (Int32(c), 0)
        } else {
            let f = t.rounded(.up)
            let c = f < 0 ? 0 : (f > Double(k + 1) ? Double(k + 1) : f)
            return (Int32(c), 1)
        }
    }
}
