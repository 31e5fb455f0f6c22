import CBennKernels
import Dispatch

/// What a GEMM writes for each `(i, j)`, given `x = popcount(a_i XOR b_j)`.
enum GEMMOutput {
    case float(UnsafeMutablePointer<Float>)
    case int32(UnsafeMutablePointer<Int32>)
    case scaled(UnsafeMutablePointer<Float>, scale: UnsafePointer<Float>, bias: UnsafePointer<Float>?)
    case threshold(UnsafeMutablePointer<UInt64>, thresholds: UnsafePointer<Int32>, flip: UnsafePointer<UInt8>?)

    func cOutput(k: Int, ldc: Int) -> benn_gemm_out {
        var o = benn_gemm_out()
        o.k = k
        o.ldc = ldc
        switch self {
        case .float(let p):
            o.mode = Int32(BENN_OUT_F32); o.out = UnsafeMutableRawPointer(p)
        case .int32(let p):
            o.mode = Int32(BENN_OUT_I32); o.out = UnsafeMutableRawPointer(p)
        case .scaled(let p, let scale, let bias):
            o.mode = Int32(BENN_OUT_SCALED); o.out = UnsafeMutableRawPointer(p)
            o.scale = scale; o.bias = bias
        case .threshold(let p, let thresholds, let flip):
            o.mode = Int32(BENN_OUT_THRESHOLD); o.out = UnsafeMutableRawPointer(p)
            o.thresholds = thresholds; o.flip = flip
        }
        return o
    }
}

/// 64-byte aligned scratch for B in the column-panel layout of the SIMD kernels.
struct PanelBuffer {
    let pointer: UnsafeMutablePointer<UInt64>
    let count: Int

    init(n: Int, words: Int) {
        count = max(1, Int(benn_panel_buffer_words(n, words)))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 8, alignment: 64)
        pointer = raw.bindMemory(to: UInt64.self, capacity: count)
    }

    func deallocate() { UnsafeMutableRawPointer(pointer).deallocate() }

    /// Packs the `n` rows of `b` (stride `ldb`) into this buffer, over `threads` threads.
    func fill(from b: UnsafePointer<UInt64>, ldb: Int, n: Int, words: Int, threads: Int) {
        let panels = (n + 63) / 64
        let parts = max(1, min(threads, panels))
        if parts == 1 {
            benn_pack_panels(b, ldb, n, words, pointer, 0, panels)
            return
        }
        let ptrs = UncheckedSendable((b, pointer))
        DispatchQueue.concurrentPerform(iterations: parts) { t in
            let p0 = panels * t / parts, p1 = panels * (t + 1) / parts
            benn_pack_panels(ptrs.value.0, ldb, n, words, ptrs.value.1, p0, p1)
        }
    }
}

extension BinaryKernels {
    /// Validates arguments, packs B into panels if the path needs them and none were given,
    /// splits the work into tiles and runs them on `threads` threads.
    static func runGEMM(a: UnsafePointer<UInt64>, lda: Int, b: UnsafePointer<UInt64>, ldb: Int,
                        panels: UnsafePointer<UInt64>?, m: Int, n: Int, words: Int, k: Int,
                        output: GEMMOutput, ldc: Int, threads: Int, path: KernelPath) {
        precondition(m >= 0 && n >= 0 && words >= 0, "m, n and words must be >= 0")
        precondition(k >= 0 && k <= 64 * words, "k must be in 0...64*words")
        precondition(lda >= words && ldb >= words, "lda and ldb must be >= words")
        precondition(threads >= 1, "threads must be >= 1")
        if case .threshold = output {
            precondition(ldc >= self.words(forBits: n), "outStride must be >= words(forBits: n)")
        } else {
            precondition(ldc >= n, "ldc must be >= n")
        }
        checkSupported(path)
        guard m > 0, n > 0 else { return }

        if path.usesPanels && panels == nil {
            let buffer = PanelBuffer(n: n, words: words)
            defer { buffer.deallocate() }
            buffer.fill(from: b, ldb: ldb, n: n, words: words, threads: threads)
            runGEMM(a: a, lda: lda, b: b, ldb: ldb, panels: UnsafePointer(buffer.pointer),
                    m: m, n: n, words: words, k: k, output: output, ldc: ldc,
                    threads: threads, path: path)
            return
        }

        var o = output.cOutput(k: k, ldc: ldc)
        let cPath = path.cValue
        if threads == 1 {
            benn_gemm_tile(cPath, a, lda, b, ldb, panels, n, words, 0, m, 0, n, &o)
            return
        }
        // Tiles: column ranges are whole 64-column panels (one output word in threshold mode);
        // row ranges are multiples of 12 rows (whole micro-kernel blocks of every path).
        let nPanels = (n + 63) / 64
        let nParts = min(nPanels, threads)
        let rowBlocks = (m + 11) / 12
        let mParts = max(1, min(rowBlocks, (4 * threads + nParts - 1) / nParts))
        let rowsPerPart = (rowBlocks + mParts - 1) / mParts * 12
        let units = nParts * mParts
        let captured = UncheckedSendable((o, a, b, panels))
        DispatchQueue.concurrentPerform(iterations: units) { u in
            var (to, a, b, panels) = captured.value
            let mi = u % mParts, ni = u / mParts
            let i0 = min(m, mi * rowsPerPart), i1 = min(m, i0 + rowsPerPart)
            let j0 = min(n, (nPanels * ni / nParts) * 64)
            let j1 = min(n, (nPanels * (ni + 1) / nParts) * 64)
            if i0 < i1 && j0 < j1 {
                benn_gemm_tile(cPath, a, lda, b, ldb, panels, n, words, i0, i1, j0, j1, &to)
            }
        }
    }
}

/// Carries raw pointers into `DispatchQueue.concurrentPerform` work items. The callers
/// guarantee the pointees outlive the (synchronous) parallel loop and that the items write
/// disjoint memory.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
