import CBennKernels

extension BinaryKernels {
    /// Packs `rows` rows of `cols` floats into bits.
    ///
    /// Row `r` starts at `src + r * srcStride`; bit `j % 64` of word `j / 64` of packed row `r`
    /// (at `dst + r * dstStride`) is 1 iff `src[r * srcStride + j] < 0`. Hence `+0.0`, `-0.0`
    /// and every NaN give bit 0 (the value +1, like `sign(0) = +1`). Tail bits past `cols` in
    /// the last word are zero; words past `words(forBits: cols)` in a row are not touched.
    /// Vectorised: AVX-512 compares 16 floats to a mask at a time, AVX2 uses `movemask`.
    ///
    /// - Precondition: `srcStride >= cols`, `dstStride >= words(forBits: cols)`.
    public static func pack(_ src: UnsafePointer<Float>, rows: Int, cols: Int, srcStride: Int,
                            into dst: UnsafeMutablePointer<UInt64>, dstStride: Int,
                            path: KernelPath = active) {
        precondition(rows >= 0 && cols >= 0, "rows and cols must be >= 0")
        precondition(srcStride >= cols, "srcStride must be >= cols")
        precondition(dstStride >= words(forBits: cols), "dstStride must be >= words(forBits: cols)")
        checkSupported(path)
        guard rows > 0, cols > 0 else { return }
        benn_pack_f32(path.cValue, src, rows, cols, srcStride, dst, dstStride)
    }
}
