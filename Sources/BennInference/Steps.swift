import BennBLAS
import BennKernels
import BennNN
import BennTensor

/// How one image's activations are stored between two steps.
enum Layout: Equatable, CustomStringConvertible {
    /// Float32, row-major, in the model's per-image shape.
    case float([Int])
    /// Bit-packed signs, NHWC: `height * width` pixels of `words(forBits: channels)` words.
    /// `flat` marks a flattened logical shape (same memory; a following dense layer's
    /// weights are packed per pixel to match).
    case packed(height: Int, width: Int, channels: Int, flat: Bool)

    /// Bytes per image.
    var bytes: Int {
        switch self {
        case .float(let s): return s.reduce(1, *) * 4
        case let .packed(h, w, c, _): return h * w * BinaryKernels.words(forBits: c) * 8
        }
    }

    var description: String {
        switch self {
        case .float(let s): return "f32\(s)"
        case let .packed(h, w, c, flat): return flat ? "bits[\(h * w * c)]" : "bits[\(h), \(w), \(c)]"
        }
    }
}

/// One compiled step of an ``InferenceNetwork``: reads `images` images in `input` layout
/// from `x` and writes them in `output` layout to `y` (never the same memory).
/// Workspace slots 0 and 1 belong to the executor; steps use slots 2 and up.
protocol InferenceStep: AnyObject {
    var input: Layout { get }
    var output: Layout { get }
    /// Safe to run concurrently on different images (no shared mutable state).
    var reentrant: Bool { get }
    /// Pixels of the largest GEMM this step runs per image (sizes the batch chunks).
    var rowsPerImage: Int { get }
    var summary: String { get }
    func run(_ x: UnsafeRawPointer, images: Int, into y: UnsafeMutableRawPointer, workspace: Workspace, threads: Int)
}

extension InferenceStep {
    var reentrant: Bool { true }
    var rowsPerImage: Int { 1 }
}

// MARK: - Shared loops

/// `p[r*c + j] += add[j]`: a per-channel constant added before a sign, as the training
/// path's activation adds it.
func addChannels(_ p: UnsafeMutablePointer<Float>, rows: Int, channels c: Int, _ add: [Float]) {
    addChannels(UnsafePointer(p), rows: rows, channels: c, add, into: p)
}

/// `y[r*c + j] = x[r*c + j] + add[j]` (x and y may be the same memory).
func addChannels(_ x: UnsafePointer<Float>, rows: Int, channels c: Int, _ add: [Float], into y: UnsafeMutablePointer<Float>) {
    add.withUnsafeBufferPointer { a in
        // Row pointers rather than r * c + j: no overflow checks in the inner loop, so it vectorises.
        var src = x, dst = y
        for _ in 0..<rows {
            for j in 0..<c { dst[j] = src[j] + a[j] }
            src += c
            dst += c
        }
    }
}

/// `p[r*c + j] = p[r*c + j] * scale[j] + shift[j]`, product and sum rounded separately
/// (the same Float operations as `BatchNorm`'s evaluation affine).
@inline(__always)
func applyAffine(_ p: UnsafeMutablePointer<Float>, rows: Int, channels c: Int,
                 scale: UnsafePointer<Float>, shift: UnsafePointer<Float>) {
    for r in 0..<rows {
        let row = p + r * c
        for j in 0..<c {
            let product = row[j] * scale[j]
            row[j] = product + shift[j]
        }
    }
}

/// Non-overlapping max pooling on NHWC floats (drops incomplete windows), with the same
/// comparison as the training layer (`v > m ? v : m`, first element first).
func maxPoolFloat(_ x: UnsafePointer<Float>, images: Int, height h: Int, width w: Int, channels c: Int,
                  size s: Int, into y: UnsafeMutablePointer<Float>) {
    let oh = h / s, ow = w / s
    for b in 0..<images {
        for oy in 0..<oh {
            for ox in 0..<ow {
                let out = y + ((b * oh + oy) * ow + ox) * c
                let first = x + ((b * h + oy * s) * w + ox * s) * c
                out.update(from: first, count: c)
                for dy in 0..<s {
                    for dx in 0..<s where dy != 0 || dx != 0 {
                        let src = x + ((b * h + oy * s + dy) * w + ox * s + dx) * c
                        for j in 0..<c { out[j] = src[j] > out[j] ? src[j] : out[j] }
                    }
                }
            }
        }
    }
}

/// Pools packed sign bits of `sign(BN(max z))` from per-pixel bits: AND over the window for
/// the channels set in `andMask`, OR for the others (see `InferenceFolding.poolAndMasks`).
func poolBits(_ x: UnsafePointer<UInt64>, images: Int, height h: Int, width w: Int, words wpp: Int,
              size s: Int, andMask: UnsafePointer<UInt64>, into y: UnsafeMutablePointer<UInt64>) {
    let oh = h / s, ow = w / s
    for b in 0..<images {
        for oy in 0..<oh {
            for ox in 0..<ow {
                let out = y + ((b * oh + oy) * ow + ox) * wpp
                for k in 0..<wpp {
                    var all: UInt64 = ~0, any: UInt64 = 0
                    for dy in 0..<s {
                        let row = x + ((b * h + oy * s + dy) * w + ox * s) * wpp + k
                        for dx in 0..<s {
                            let v = row[dx * wpp]
                            all &= v
                            any |= v
                        }
                    }
                    out[k] = (all & andMask[k]) | (any & ~andMask[k])
                }
            }
        }
    }
}

/// Convolution geometry (NHWC input, square kernel, symmetric padding).
struct ConvShape: Equatable {
    let height: Int, width: Int, channels: Int, kernel: Int, stride: Int, pad: Int
    var outHeight: Int { BinaryKernels.convOutputSize(input: height, kernel: kernel, stride: stride, pad: pad) }
    var outWidth: Int { BinaryKernels.convOutputSize(input: width, kernel: kernel, stride: stride, pad: pad) }
    var outPixels: Int { outHeight * outWidth }
    var patch: Int { kernel * kernel * channels }

    /// Float im2col in the order of the training layer: rows are output pixels, each the
    /// taps in (ky, kx) order of `channels` values; out-of-image taps read `padValue`.
    func im2col(_ x: UnsafePointer<Float>, images: Int, padValue: Float, into cols: UnsafeMutablePointer<Float>) {
        let oh = outHeight, ow = outWidth, c = channels
        var dst = cols
        for b in 0..<images {
            let img = x + b * height * width * c
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for ky in 0..<kernel {
                        let iy = oy * stride - pad + ky
                        for kx in 0..<kernel {
                            let ix = ox * stride - pad + kx
                            if iy >= 0 && iy < height && ix >= 0 && ix < width {
                                dst.update(from: img + (iy * width + ix) * c, count: c)
                            } else {
                                dst.update(repeating: padValue, count: c)
                            }
                            dst += c
                        }
                    }
                }
            }
        }
    }
}

// MARK: - Steps

/// A reshape (flatten) of float activations: no data movement.
final class ReshapeStep: InferenceStep {
    let input: Layout, output: Layout
    init(from: [Int], to: [Int]) { input = .float(from); output = .float(to) }
    var summary: String { "reshape \(input) -> \(output)" }
    func run(_ x: UnsafeRawPointer, images: Int, into y: UnsafeMutableRawPointer, workspace: Workspace, threads: Int) {
        y.copyMemory(from: x, byteCount: images * output.bytes)
    }
}

/// Unpacks sign bits to ±1 floats (bit 1 = -1), for layers that have no packed form.
final class UnpackStep: InferenceStep {
    let input: Layout, output: Layout
    let pixels: Int, channels: Int
    init(_ layout: Layout) {
        guard case let .packed(h, w, c, flat) = layout else { preconditionFailure("unpack needs packed input") }
        input = layout
        output = .float(flat ? [h * w * c] : [h, w, c])
        pixels = h * w; channels = c
    }
    var summary: String { "unpack signs \(input) -> \(output)" }
    func run(_ x: UnsafeRawPointer, images: Int, into y: UnsafeMutableRawPointer, workspace: Workspace, threads: Int) {
        let src = x.assumingMemoryBound(to: UInt64.self), dst = y.assumingMemoryBound(to: Float.self)
        let wpp = BinaryKernels.words(forBits: channels)
        for p in 0..<(images * pixels) {
            for j in 0..<channels {
                dst[p * channels + j] = (src[p * wpp + (j >> 6)] >> UInt64(j & 63)) & 1 == 1 ? -1 : 1
            }
        }
    }
}

/// Any layer run through its own evaluation forward pass on Float32 tensors (float twins,
/// and whatever has no folded form). Not reentrant: layers keep state between calls and
/// thread through the global `Parallelism.threads`.
final class LayerStep: InferenceStep {
    let layer: Layer
    let input: Layout, output: Layout
    let inShape: [Int], outShape: [Int]
    init(_ layer: Layer, input: [Int], output: [Int]) {
        self.layer = layer
        inShape = input; outShape = output
        self.input = .float(input); self.output = .float(output)
    }
    var reentrant: Bool { layer is StatelessInEvaluation }
    var summary: String {
        "\(type(of: layer)) (float, \(layer is PointwiseEvaluation ? "pointwise on raw memory" : "layer's eval forward")) \(input) -> \(output)"
    }
    func run(_ x: UnsafeRawPointer, images: Int, into y: UnsafeMutableRawPointer, workspace: Workspace, threads: Int) {
        let n = images * inShape.reduce(1, *)
        if let pointwise = layer as? PointwiseEvaluation {
            // Straight between the executor's buffers: no tensor copies in and out.
            pointwise.evaluate(x.assumingMemoryBound(to: Float.self), count: n, into: y.assumingMemoryBound(to: Float.self))
            return
        }
        let xs = Array(UnsafeBufferPointer(start: x.assumingMemoryBound(to: Float.self), count: n))
        let out = layer.forward(Tensor(shape: [images] + inShape, storage: xs), training: false)
        precondition(out.count == images * outShape.reduce(1, *), "layer output \(out.shape) is not \(outShape)")
        out.withPointer { y.assumingMemoryBound(to: Float.self).update(from: $0, count: out.count) }
    }
}

/// A layer on real-valued input (the first layer) whose output goes through
/// [max pool] [batch norm] [flatten] sign: Float32 BLAS product with the layer's forward
/// weights (sign(W) for binary weights), then the batch-norm affine with the training
/// path's exact Float operations, then packed signs.
final class RealStemStep: InferenceStep {
    enum Kind { case dense(inputs: Int), conv(ConvShape, padValue: Float) }
    let kind: Kind
    let weights: [Float]  // [out, patch]
    let outChannels: Int
    let pool: Int
    let scale: [Float]?, shift: [Float]?
    /// Per-channel constant added before the sign (RSign, SD-BNN's static shift).
    let signShift: [Float]?
    /// False: Float32 output (a real layer inside the network, e.g. a shortcut or classifier).
    let packs: Bool
    let input: Layout, output: Layout

    init(kind: Kind, weights: [Float], outChannels: Int, pool: Int, scale: [Float]?, shift: [Float]?,
         signShift: [Float]? = nil, packs: Bool = true, input: [Int], flat: Bool) {
        self.kind = kind
        self.weights = weights
        self.outChannels = outChannels
        self.pool = pool
        self.scale = scale; self.shift = shift
        self.signShift = signShift
        self.packs = packs
        self.input = .float(input)
        switch kind {
        case .dense:
            output = packs ? .packed(height: 1, width: 1, channels: outChannels, flat: true) : .float([outChannels])
        case .conv(let g, _):
            let (h, w) = (g.outHeight / pool, g.outWidth / pool)
            output = packs ? .packed(height: h, width: w, channels: outChannels, flat: flat)
                           : .float(flat ? [h * w * outChannels] : [h, w, outChannels])
        }
    }

    var rowsPerImage: Int {
        if case .conv(let g, _) = kind { return g.outPixels }
        return 1
    }

    var summary: String {
        let tail = (scale != nil ? " + BN" : "") + (packs ? (signShift != nil ? " + shifted sign" : " + sign") : "")
        switch kind {
        case .dense(let k): return "dense \(k)->\(outChannels) f32 BLAS\(tail) -> \(output)"
        case .conv(let g, _):
            return "conv \(g.kernel)x\(g.kernel) \(g.channels)->\(outChannels) f32 BLAS\(pool > 1 ? " + maxpool \(pool)" : "")\(tail) -> \(output)"
        }
    }

    func run(_ x: UnsafeRawPointer, images: Int, into y: UnsafeMutableRawPointer, workspace: Workspace, threads: Int) {
        let xf = x.assumingMemoryBound(to: Float.self)
        let c = outChannels
        var z: UnsafeMutablePointer<Float>
        var rows: Int
        switch kind {
        case .dense(let k):
            rows = images
            z = packs ? workspace.floats(2, count: rows * c) : y.assumingMemoryBound(to: Float.self)
            BLAS.setThreads(threads)
            weights.withUnsafeBufferPointer { w in
                BLAS.sgemm(.none, .transpose, m: images, n: c, k: k, a: xf, lda: k, b: w.baseAddress!, ldb: k,
                           c: z, ldc: c)
            }
        case let .conv(g, padValue):
            // One image per BLAS call, like the training layer (which groups
            // max(1, 1024 / outPixels) images per call).
            let group = max(1, 1024 / max(1, g.outPixels))
            rows = images * g.outPixels
            z = packs || pool > 1 ? workspace.floats(2, count: rows * c) : y.assumingMemoryBound(to: Float.self)
            // A 1x1 convolution without stride or padding reads its input as it is (the
            // shortcut projections of residual models).
            let pointwise = g.kernel == 1 && g.stride == 1 && g.pad == 0
            let cols = pointwise ? nil : workspace.floats(3, count: min(group, images) * g.outPixels * g.patch)
            let inCount = g.height * g.width * g.channels
            BLAS.setThreads(1)  // per-image products are too small to split
            weights.withUnsafeBufferPointer { w in
                var n = 0
                while n < images {
                    let count = min(group, images - n)
                    let a: UnsafePointer<Float>
                    if let cols {
                        g.im2col(xf + n * inCount, images: count, padValue: padValue, into: cols)
                        a = UnsafePointer(cols)
                    } else {
                        a = xf + n * inCount
                    }
                    BLAS.sgemm(.none, .transpose, m: count * g.outPixels, n: c, k: g.patch,
                               a: a, lda: g.patch, b: w.baseAddress!, ldb: g.patch,
                               c: z + n * g.outPixels * c, ldc: c)
                    n += count
                }
            }
            if pool > 1 {
                let pooled = packs ? workspace.floats(4, count: images * (g.outHeight / pool) * (g.outWidth / pool) * c)
                                   : y.assumingMemoryBound(to: Float.self)
                maxPoolFloat(z, images: images, height: g.outHeight, width: g.outWidth, channels: c, size: pool, into: pooled)
                z = pooled
                rows = images * (g.outHeight / pool) * (g.outWidth / pool)
            }
        }
        if let scale, let shift {
            scale.withUnsafeBufferPointer { s in
                shift.withUnsafeBufferPointer { b in
                    applyAffine(z, rows: rows, channels: c, scale: s.baseAddress!, shift: b.baseAddress!)
                }
            }
        }
        guard packs else { return }
        if let signShift { addChannels(z, rows: rows, channels: c, signShift) }
        BinaryKernels.pack(z, rows: rows, cols: c, srcStride: c, into: y.assumingMemoryBound(to: UInt64.self),
                           dstStride: BinaryKernels.words(forBits: c))
    }
}

/// A binary layer (binary weights, ±1 input) on packed input, with either
/// - packed output: [max pool] batch norm [flatten] sign folded into per-channel integer
///   thresholds of `gemmThreshold` (pooling then combines the per-pixel bits with AND/OR), or
/// - Float32 output: [max pool] [batch norm] (`gemmScaled` when there is no pooling).
final class BinaryStep: InferenceStep {
    enum Kind { case dense(pixels: Int, channels: Int), conv(ConvShape) }
    enum Output {
        case bits(thresholds: [Int32], flips: [UInt8], andMask: [UInt64])
        /// `alpha`: the method's per-output weight scale, applied to the exact product first.
        case float(alpha: [Float]?, scale: [Float]?, shift: [Float]?)
    }
    let kind: Kind
    let weights: PackedWeights
    let outChannels: Int
    let k: Int
    let rowWords: Int
    let pool: Int
    let mode: Output
    let input: Layout, output: Layout
    /// Bit products (`m * n * k`) below which a step runs its GEMM on one thread.
    static let minimumSplitWork = 1 << 26

    init(kind: Kind, weights: PackedWeights, outChannels: Int, k: Int, pool: Int, mode: Output,
         input: Layout, output: Layout) {
        self.kind = kind
        self.weights = weights
        self.outChannels = outChannels
        self.k = k
        self.rowWords = weights.words
        self.pool = pool
        self.mode = mode
        self.input = input
        self.output = output
    }

    var rowsPerImage: Int {
        if case .conv(let g) = kind { return g.outPixels }
        return 1
    }

    var summary: String {
        let what: String
        switch kind {
        case let .dense(p, c): what = "dense \(p * c)->\(outChannels)"
        case .conv(let g): what = "conv \(g.kernel)x\(g.kernel) \(g.channels)->\(outChannels)"
        }
        let poolText = pool > 1 ? " + maxpool \(pool)" : ""
        switch mode {
        case .bits(_, let flips, _):
            let negative = flips.filter { $0 != 0 }.count
            return "\(what) packed XNOR\(poolText) + BN/sign as thresholds (\(negative) flipped) -> \(output)"
        case let .float(alpha, scale, _):
            return "\(what) packed XNOR\(alpha != nil ? " x scale" : "")\(poolText)\(scale != nil ? " + BN" : "") -> \(output)"
        }
    }

    func run(_ x: UnsafeRawPointer, images: Int, into y: UnsafeMutableRawPointer, workspace: Workspace, threads: Int) {
        let xw = x.assumingMemoryBound(to: UInt64.self)
        let a: UnsafePointer<UInt64>
        let m: Int
        var convOut: (h: Int, w: Int) = (1, 1)
        switch kind {
        case .dense:
            a = xw; m = images
        case .conv(let g):
            m = images * g.outPixels
            let cols = workspace.words(2, count: m * rowWords)
            BinaryKernels.im2col(xw, batch: images, height: g.height, width: g.width,
                                 wordsPerPixel: BinaryKernels.words(forBits: g.channels),
                                 kernelH: g.kernel, kernelW: g.kernel, strideH: g.stride, strideW: g.stride,
                                 padH: g.pad, padW: g.pad, into: cols)
            a = UnsafePointer(cols)
            convOut = (g.outHeight, g.outWidth)
        }
        let n = outChannels
        // Splitting a small product costs more in dispatch than it saves.
        let threads = m * n * k >= BinaryStep.minimumSplitWork ? threads : 1
        switch mode {
        case let .bits(thresholds, flips, andMask):
            let wpp = BinaryKernels.words(forBits: n)
            let bits = pool > 1 ? workspace.words(3, count: m * wpp) : y.assumingMemoryBound(to: UInt64.self)
            thresholds.withUnsafeBufferPointer { t in
                flips.withUnsafeBufferPointer { f in
                    BinaryKernels.gemmThreshold(a: a, lda: rowWords, weights: weights, m: m, k: k,
                                                thresholds: t.baseAddress!, flip: f.baseAddress!,
                                                out: bits, outStride: wpp, threads: threads)
                }
            }
            if pool > 1 {
                andMask.withUnsafeBufferPointer { mask in
                    poolBits(bits, images: images, height: convOut.h, width: convOut.w, words: wpp, size: pool,
                             andMask: mask.baseAddress!, into: y.assumingMemoryBound(to: UInt64.self))
                }
            }
        case let .float(alpha, scale, shift):
            let out = y.assumingMemoryBound(to: Float.self)
            if pool == 1, alpha == nil, let scale, let shift {
                scale.withUnsafeBufferPointer { s in
                    shift.withUnsafeBufferPointer { b in
                        BinaryKernels.gemmScaled(a: a, lda: rowWords, weights: weights, m: m, k: k,
                                                 scale: s.baseAddress!, bias: b.baseAddress!,
                                                 out: out, ldc: n, threads: threads)
                    }
                }
                return
            }
            let z = pool > 1 ? workspace.floats(3, count: m * n) : out
            if let alpha {
                alpha.withUnsafeBufferPointer { s in
                    BinaryKernels.gemmScaled(a: a, lda: rowWords, weights: weights, m: m, k: k,
                                             scale: s.baseAddress!, bias: nil, out: z, ldc: n, threads: threads)
                }
            } else {
                BinaryKernels.gemm(a: a, lda: rowWords, weights: weights, m: m, k: k, out: z, ldc: n, threads: threads)
            }
            var rows = m
            if pool > 1 {
                maxPoolFloat(z, images: images, height: convOut.h, width: convOut.w, channels: n, size: pool, into: out)
                rows = images * (convOut.h / pool) * (convOut.w / pool)
            }
            if let scale, let shift {
                scale.withUnsafeBufferPointer { s in
                    shift.withUnsafeBufferPointer { b in
                        applyAffine(out, rows: rows, channels: n, scale: s.baseAddress!, shift: b.baseAddress!)
                    }
                }
            }
        }
    }
}
