import BennBLAS
import BennCore
import BennKernels
import BennNN
import BennTensor
import Dispatch

/// A trained `Sequential` compiled for fast evaluation-mode inference.
///
/// Binary layers (binary weights and ±1 input) run on bit-packed XNOR/popcount kernels, and
/// every "binary layer → [max pool] → [batch norm] → [flatten] → sign" chain is folded into a
/// packed-to-packed step: the popcount of each output is compared with a per-channel integer
/// threshold (flipped for a negative batch-norm scale) and written straight out as packed
/// bits (`BinaryKernels.gemmThreshold`), so a chain of binary layers never materialises
/// Float32 activations. Max pooling before the batch norm is folded exactly: the per-pixel
/// bits of a channel with positive scale are ANDed over the window, those of a channel with
/// negative scale ORed (see `InferenceFolding.poolAndMasks`).
///
/// The first layer (real-valued input) runs on Float32 BLAS like the training layer, then
/// batch norm and sign are applied with the training path's exact Float operations and the
/// result is packed. The last binary layer with its batch norm produces Float32 logits
/// through `BinaryKernels.gemmScaled`, with the batch norm folded into a per-output scale and
/// shift computed exactly as `BatchNorm` computes them, so the logits are bit-identical to
/// `Sequential.forward(_:training: false)` given identical first-layer BLAS results.
/// Thresholds are derived from the Float evaluation of the batch norm, not from exact real
/// arithmetic (`InferenceFolding.threshold(scale:shift:k:)`), so folded signs equal the
/// training path's signs for every input.
///
/// Layers with no folded form (float twins such as `fmlp`/`fcnn`, ReLU, PReLU, ...) run
/// through their own evaluation forward pass on Float32 tensors (BLAS), so the same API
/// measures float baselines.
///
/// `predict` may be called concurrently from several threads when ``isReentrant`` is true;
/// otherwise calls must not overlap (the layers' own forward passes keep state). `predict`
/// sets the process-wide OpenBLAS thread count (`BLAS.setThreads`), like the training layers do.
public final class InferenceNetwork: @unchecked Sendable {
    /// The description of the compiled model.
    public let modelDescription: ModelDescription
    /// Number of logits per image.
    public let classes: Int
    /// Per-image input shape (NHWC without the batch dimension).
    public let inputShape: [Int]
    let steps: [InferenceStep]
    private let pool = WorkspacePool()

    /// Images per chunk are chosen so that a chunk's largest GEMM has about this many rows.
    public var targetChunkRows = 2048

    /// Thrown when a model cannot be compiled.
    public struct CompileError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Compiles `model` (its current parameters and batch-norm running statistics; later
    /// changes to the model are not seen). Binary weights are packed once here.
    public init(_ model: Sequential) throws {
        modelDescription = model.description
        classes = model.description.classes
        inputShape = model.description.inputShape
        steps = try Compiler(model).compile()
    }

    /// One line per compiled step, e.g. for reports.
    public var plan: [String] { steps.map(\.summary) }

    /// Whether any step runs on packed bits.
    public var isFolded: Bool {
        func folded(_ steps: [InferenceStep]) -> Bool {
            steps.contains { step in
                if let r = step as? ResidualStep { return folded(r.body) || folded(r.shortcut) }
                if let r = step as? InputScaledStep { return folded(r.body) }
                if case .packed = step.input { return true }
                if case .packed = step.output { return true }
                return false
            }
        }
        return folded(steps)
    }

    /// Whether every step is safe to run on several batches at once (true for fully folded
    /// binary networks; false when a layer's own forward pass is used).
    public var isReentrant: Bool { steps.allSatisfy(\.reentrant) }

    /// Logits `[n, classes]` for the images `x` (`[n] + inputShape`, or any shape with `n`
    /// rows of the input's size), in evaluation mode.
    ///
    /// With `threads > 1` and at least `2 * threads` images, the batch is split into `threads`
    /// contiguous parts run concurrently, each in cache-sized chunks with single-threaded
    /// kernels; smaller batches run in one part with the kernels' own `threads`. Networks with
    /// non-reentrant steps run the whole batch at once with `Parallelism.threads` set to
    /// `threads` for the call (restored afterwards). The result does not depend on `threads`.
    public func predict(_ x: Tensor, threads: Int = 1) -> Tensor {
        precondition(threads >= 1, "threads must be >= 1")
        let n = x.rows
        let perImage = inputShape.reduce(1, *)
        precondition(x.count == n * perImage, "input shape \(x.shape) does not hold \(n) images of \(inputShape)")
        var out = Tensor(uninitializedShape: [n, classes])
        guard n > 0 else { return out }

        let reentrant = isReentrant
        let workers = reentrant && n >= 2 * threads ? threads : 1
        let kernelThreads = workers == 1 ? threads : 1
        let chunk = chunkImages(of: (n + workers - 1) / workers, total: n)

        let savedParallelism = Parallelism.threads
        if !reentrant { Parallelism.threads = threads }
        defer { if !reentrant { Parallelism.threads = savedParallelism } }
        BLAS.setThreads(kernelThreads)

        let spaces = pool.take(workers)
        defer { pool.give(spaces) }
        x.withPointer { px in
            out.withMutablePointer { po in
                let box = Unchecked((px, po, spaces))
                let body: @Sendable (Int) -> Void = { w in
                    let (px, po, spaces) = box.value
                    let lo = n * w / workers, hi = n * (w + 1) / workers
                    var start = lo
                    while start < hi {
                        let count = min(chunk, hi - start)
                        self.runChunk(px + start * perImage, images: count, into: po + start * self.classes,
                                      workspace: spaces[w], threads: kernelThreads)
                        start += count
                    }
                }
                if workers == 1 {
                    body(0)
                } else {
                    DispatchQueue.concurrentPerform(iterations: workers, execute: body)
                }
            }
        }
        return out
    }

    /// Predicted class per image (argmax of the logits, first maximum on ties).
    public func classify(_ x: Tensor, threads: Int = 1) -> [Int32] {
        let logits = predict(x, threads: threads)
        return InferenceNetwork.argmax(logits)
    }

    /// Row-wise argmax (first maximum on ties).
    public static func argmax(_ logits: Tensor) -> [Int32] {
        let c = logits.rowSize
        return (0..<logits.rows).map { r in
            var best = 0
            for j in 1..<max(1, c) where logits[r * c + j] > logits[r * c + best] { best = j }
            return Int32(best)
        }
    }

    /// Images per chunk for a worker's `perWorker` images: about `targetChunkRows` rows in
    /// the largest GEMM; a network with non-reentrant steps runs all `total` at once.
    private func chunkImages(of perWorker: Int, total: Int) -> Int {
        guard isReentrant else { return total }
        let maxRows = steps.map(\.rowsPerImage).max() ?? 1
        return max(1, min(perWorker, targetChunkRows / max(1, maxRows)))
    }

    /// Time spent in each top-level step over the images of `x`, run on one thread in the
    /// chunks `predict` uses: (step summary, seconds), the minimum over `repetitions` passes
    /// (a shared machine inflates single passes), for finding the step that dominates.
    public func profile(_ x: Tensor, repetitions: Int = 5) -> [(step: String, seconds: Double)] {
        var best = [Double](repeating: .infinity, count: steps.count)
        for _ in 0..<max(1, repetitions) {
            for (i, t) in profilePass(x).enumerated() { best[i] = min(best[i], t) }
        }
        return zip(steps, best).map { ($0.summary, $1) }
    }

    private func profilePass(_ x: Tensor) -> [Double] {
        let n = x.rows, perImage = inputShape.reduce(1, *)
        precondition(x.count == n * perImage, "input shape \(x.shape) does not hold \(n) images of \(inputShape)")
        let chunk = chunkImages(of: n, total: n)
        var seconds = [Double](repeating: 0, count: steps.count)
        var out = [Float](repeating: 0, count: max(1, n * classes))
        BLAS.setThreads(1)
        let spaces = pool.take(1)
        defer { pool.give(spaces) }
        x.withPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                var start = 0
                while start < n {
                    let count = min(chunk, n - start)
                    runChunk(px + start * perImage, images: count, into: po.baseAddress! + start * classes,
                             workspace: spaces[0], threads: 1) { i, t in seconds[i] += t }
                    start += count
                }
            }
        }
        return seconds
    }

    private func runChunk(_ x: UnsafePointer<Float>, images: Int, into out: UnsafeMutablePointer<Float>,
                          workspace: Workspace, threads: Int, timing: ((Int, Double) -> Void)? = nil) {
        var current = UnsafeRawPointer(x)
        var slot = 0
        for (i, step) in steps.enumerated() {
            if step is ReshapeStep { continue }
            let last = i == steps.count - 1
            let dst = last ? UnsafeMutableRawPointer(out)
                           : workspace.raw(slot, bytes: max(64, images * step.output.bytes))
            if let timing {
                let watch = Stopwatch()
                step.run(current, images: images, into: dst, workspace: workspace, threads: threads)
                timing(i, watch.seconds)
            } else {
                step.run(current, images: images, into: dst, workspace: workspace, threads: threads)
            }
            current = UnsafeRawPointer(dst)
            slot ^= 1
        }
        if steps.isEmpty || steps.last is ReshapeStep {
            out.update(from: current.assumingMemoryBound(to: Float.self), count: images * classes)
        }
    }
}

/// Turns a list of layers into steps by walking them and matching foldable chains;
/// residual blocks compile their body and shortcut recursively.
private struct Compiler {
    let layers: [Layer]
    let shapes: [[Int]]
    let inputShape: [Int]

    init(_ model: Sequential) {
        layers = model.layers
        shapes = model.shapes
        inputShape = model.description.inputShape
    }

    init(layers: [Layer], shapes: [[Int]], inputShape: [Int]) {
        self.layers = layers
        self.shapes = shapes
        self.inputShape = inputShape
    }

    typealias CompileError = InferenceNetwork.CompileError

    /// What follows a layer up to and including a sign whose shift is a constant.
    struct SignTail {
        var end: Int, pool: Int, bn: BatchNorm?, flatten: Bool, signShift: [Float]?
    }

    /// The tail "[max pool] [batch norm] [flatten] sign" after layer `i`, if present and
    /// foldable (the sign's shift, if any, does not depend on the input).
    func signTail(after i: Int, outChannels: Int, allowPool: Bool) -> SignTail? {
        var j = i + 1
        var pool = 1
        if allowPool, j < layers.count, let p = layers[j] as? MaxPool2D { pool = p.size; j += 1 }
        var bn: BatchNorm?
        if j < layers.count, let b = layers[j] as? BatchNorm, b.channels == outChannels { bn = b; j += 1 }
        var flatten = false
        if j < layers.count, layers[j] is Flatten { flatten = true; j += 1 }
        guard j < layers.count, let sign = layers[j] as? SignActivation, sign.excitation == nil else { return nil }
        // A per-channel shift must be per output channel (a flattened image has pixels x channels).
        if let c = sign.constantShift, c.count != outChannels { return nil }
        return SignTail(end: j + 1, pool: pool, bn: bn, flatten: flatten, signShift: sign.constantShift)
    }

    func affine(_ bn: BatchNorm?, channels: Int) -> (scale: [Float], shift: [Float]) {
        if let bn { return InferenceFolding.batchNormAffine(bn) }
        return ([Float](repeating: 1, count: channels), [Float](repeating: 0, count: channels))
    }

    func isBinary(_ layer: Layer) -> Bool {
        if let d = layer as? Dense { return d.binaryWeights && d.binaryInput }
        if let c = layer as? Conv2D { return c.binaryWeights && c.binaryInput && c.padValue == 1 }
        return false
    }

    /// Packs a binary layer's weight signs (bit 1 iff the binarized source is < 0) as rows of
    /// `pieces` segments of `channels` bits, each segment padded to whole words.
    func packWeights(_ w: Tensor, rows: Int, pieces: Int, channels: Int) -> PackedWeights {
        let wpp = BinaryKernels.words(forBits: channels)
        var packed = [UInt64](repeating: 0, count: max(1, rows * pieces * wpp))
        w.withPointer { p in
            BinaryKernels.pack(p, rows: rows * pieces, cols: channels, srcStride: channels, into: &packed, dstStride: wpp)
        }
        return PackedWeights(packed, rows: rows, words: pieces * wpp, stride: pieces * wpp)
    }

    /// A binary layer's packed-input step, with its output chain folded.
    func binaryStep(_ i: Int, kind: BinaryStep.Kind, source: BinarizedWeights, outChannels: Int, k: Int,
                    weights: PackedWeights, outShape: (h: Int, w: Int), allowPool: Bool, layout: Layout)
        -> (step: BinaryStep, next: Int) {
        if let tail = signTail(after: i, outChannels: outChannels, allowPool: allowPool) {
            let (s, b) = affine(tail.bn, channels: outChannels)
            let (t, f) = InferenceFolding.thresholds(alpha: source.scale, scale: s, shift: b, signShift: tail.signShift, k: k)
            let out = Layout.packed(height: outShape.h / tail.pool, width: outShape.w / tail.pool, channels: outChannels,
                                    flat: tail.flatten || outShape == (1, 1) && !allowPool)
            let step = BinaryStep(kind: kind, weights: weights, outChannels: outChannels, k: k, pool: tail.pool,
                                  mode: .bits(thresholds: t, flips: f, andMask: InferenceFolding.poolAndMasks(flips: f)),
                                  input: layout, output: out)
            return (step, tail.end)
        }
        var j = i + 1
        var pool = 1
        if allowPool, j < layers.count, let p = layers[j] as? MaxPool2D { pool = p.size; j += 1 }
        var bn: BatchNorm?
        if j < layers.count, let b = layers[j] as? BatchNorm, b.channels == outChannels { bn = b; j += 1 }
        let (s, b) = bn.map { InferenceFolding.batchNormAffine($0) } ?? ([], [])
        let out = Layout.float(shapes[j - 1])
        let step = BinaryStep(kind: kind, weights: weights, outChannels: outChannels, k: k, pool: pool,
                              mode: .float(alpha: source.scale, scale: bn == nil ? nil : s, shift: bn == nil ? nil : b),
                              input: layout, output: out)
        return (step, j)
    }

    func compile(expectingClasses classes: Int?) throws -> [InferenceStep] {
        var steps: [InferenceStep] = []
        var layout = Layout.float(inputShape)
        var i = 0
        while i < layers.count {
            let layer = layers[i]
            switch layout {
            case .float(let shape):
                if layer is Flatten {
                    let flat = [shape.reduce(1, *)]
                    steps.append(ReshapeStep(from: shape, to: flat))
                    layout = .float(flat)
                    i += 1
                    continue
                }
                if let scaled = layer as? InputScaled {
                    let step = try InputScaledStep(scaled, input: shape, output: shapes[i])
                    steps.append(step)
                    layout = step.output
                    i += 1
                    continue
                }
                if let r = layer as? Residual {
                    let step = try ResidualStep(r, input: shape, output: shapes[i])
                    steps.append(step)
                    layout = step.output
                    i += 1
                    continue
                }
                if let d = layer as? Dense, !d.binaryWeights || !d.binaryInput {
                    let tail = signTail(after: i, outChannels: d.outputs, allowPool: false)
                    var bn: BatchNorm? = tail?.bn
                    var end = tail?.end ?? i + 1
                    if tail == nil, end < layers.count, let b = layers[end] as? BatchNorm, b.channels == d.outputs { bn = b; end += 1 }
                    let affine = bn.map { InferenceFolding.batchNormAffine($0) }
                    let step = RealStemStep(kind: .dense(inputs: d.inputs), weights: d.forwardWeights().storage,
                                            outChannels: d.outputs, pool: 1, scale: affine?.scale, shift: affine?.shift,
                                            signShift: tail?.signShift, packs: tail != nil, input: shape, flat: true)
                    steps.append(step)
                    layout = step.output
                    i = end
                    continue
                }
                if let c = layer as? Conv2D, shape.count == 3, !c.binaryWeights || !c.binaryInput {
                    let g = ConvShape(height: shape[0], width: shape[1], channels: shape[2],
                                      kernel: c.kernel, stride: c.stride, pad: c.pad)
                    let tail = signTail(after: i, outChannels: c.outChannels, allowPool: true)
                    var pool = tail?.pool ?? 1
                    var bn: BatchNorm? = tail?.bn
                    var end = tail?.end ?? i + 1
                    if tail == nil {
                        if end < layers.count, let p = layers[end] as? MaxPool2D { pool = p.size; end += 1 }
                        if end < layers.count, let b = layers[end] as? BatchNorm, b.channels == c.outChannels { bn = b; end += 1 }
                    }
                    let affine = bn.map { InferenceFolding.batchNormAffine($0) }
                    let step = RealStemStep(kind: .conv(g, padValue: c.padValue), weights: c.forwardWeights().storage,
                                            outChannels: c.outChannels, pool: pool, scale: affine?.scale, shift: affine?.shift,
                                            signShift: tail?.signShift, packs: tail != nil,
                                            input: shape, flat: tail?.flatten ?? false)
                    steps.append(step)
                    layout = step.output
                    i = end
                    continue
                }
                if let sign = layer as? SignActivation, i + 1 < layers.count, isBinary(layers[i + 1]),
                   shape.count == 3 || shape.count == 1 {
                    let step = ShiftedPackStep(shape: shape, constant: sign.constantShift, excitation: sign.excitation)
                    steps.append(step)
                    layout = step.output
                    i += 1
                    continue
                }
                let out = shapes[i]
                steps.append(LayerStep(layer, input: shape, output: out))
                layout = .float(out)
                i += 1

            case let .packed(h, w, c, flat):
                if layer is Flatten {
                    layout = .packed(height: h, width: w, channels: c, flat: true)
                    i += 1
                    continue
                }
                if let sign = layer as? SignActivation, sign.quantizer.shift == .none {  // sign of ±1 values
                    i += 1
                    continue
                }
                if isBinary(layer), let d = layer as? Dense, d.inputs == h * w * c, let source = d.binarizedWeights() {
                    let pixels = h * w
                    let weights = packWeights(source.source, rows: d.outputs, pieces: pixels, channels: c)
                    let (step, next) = binaryStep(i, kind: .dense(pixels: pixels, channels: c), source: source,
                                                  outChannels: d.outputs, k: d.inputs, weights: weights,
                                                  outShape: (1, 1), allowPool: false, layout: layout)
                    steps.append(step)
                    layout = step.output
                    i = next
                    continue
                }
                if isBinary(layer), let cv = layer as? Conv2D, !flat, cv.inChannels == c, let source = cv.binarizedWeights() {
                    let g = ConvShape(height: h, width: w, channels: c, kernel: cv.kernel, stride: cv.stride, pad: cv.pad)
                    let taps = cv.kernel * cv.kernel
                    let weights = packWeights(source.source, rows: cv.outChannels, pieces: taps, channels: c)
                    let (step, next) = binaryStep(i, kind: .conv(g), source: source, outChannels: cv.outChannels,
                                                  k: taps * c, weights: weights, outShape: (g.outHeight, g.outWidth),
                                                  allowPool: true, layout: layout)
                    steps.append(step)
                    layout = step.output
                    i = next
                    continue
                }
                // No packed form: back to ±1 floats, then handle the layer on the float path.
                let step = UnpackStep(layout)
                steps.append(step)
                layout = step.output
            }
        }
        if case .packed = layout {
            let step = UnpackStep(layout)
            steps.append(step)
            layout = step.output
        }
        if let classes {
            guard case .float(let shape) = layout, shape.reduce(1, *) == classes else {
                throw CompileError(description: "compiled network ends in \(layout), expected \(classes) logits")
            }
        }
        return steps
    }

    func compile() throws -> [InferenceStep] {
        try compile(expectingClasses: shapes.isEmpty ? nil : shapes.last!.reduce(1, *))
    }
}

/// `body(x) + shortcut(x)` with both branches compiled; the sum is the training path's
/// Float addition.
final class ResidualStep: InferenceStep {
    let body: [InferenceStep], shortcut: [InferenceStep]
    let input: Layout, output: Layout
    let count: Int

    init(_ r: Residual, input: [Int], output: [Int]) throws {
        var shape = input
        let bodyShapes = r.body.map { l -> [Int] in shape = l.outputShape(for: shape); return shape }
        shape = input
        let shortShapes = r.shortcut.map { l -> [Int] in shape = l.outputShape(for: shape); return shape }
        body = try Compiler(layers: r.body, shapes: bodyShapes, inputShape: input).compile(expectingClasses: nil)
        shortcut = try Compiler(layers: r.shortcut, shapes: shortShapes, inputShape: input).compile(expectingClasses: nil)
        self.input = .float(input)
        self.output = .float(output)
        count = output.reduce(1, *)
    }

    var reentrant: Bool { (body + shortcut).allSatisfy(\.reentrant) }
    var rowsPerImage: Int { (body + shortcut).map(\.rowsPerImage).max() ?? 1 }
    var summary: String {
        "residual [" + body.map(\.summary).joined(separator: "; ") + "] + ["
            + (shortcut.isEmpty ? "identity" : shortcut.map(\.summary).joined(separator: "; ")) + "]"
    }

    /// Workspace slots of residual branches, above those steps use for scratch (2..<8).
    static let slotBase = 8

    func run(_ x: UnsafeRawPointer, images: Int, into y: UnsafeMutableRawPointer, workspace: Workspace, threads: Int) {
        let out = y.assumingMemoryBound(to: Float.self)
        let n = images * count
        runChain(body, x, images: images, into: y, outputBytes: n * 4, workspace: workspace, threads: threads,
                 slots: ResidualStep.slotBase)
        if shortcut.isEmpty {
            let s = x.assumingMemoryBound(to: Float.self)
            for i in 0..<n { out[i] += s[i] }
            return
        }
        let tmp = workspace.raw(ResidualStep.slotBase + 2, bytes: max(64, n * 4))
        runChain(shortcut, x, images: images, into: tmp, outputBytes: n * 4, workspace: workspace, threads: threads,
                 slots: ResidualStep.slotBase + 3)
        let s = tmp.assumingMemoryBound(to: Float.self)
        for i in 0..<n { out[i] += s[i] }
    }
}

/// Runs compiled `steps` from `x` to `y` (the last step writes `y`), ping-ponging
/// intermediate results through workspace slots `slots` and `slots + 4`; with no real step,
/// copies `outputBytes` from `x`.
func runChain(_ steps: [InferenceStep], _ x: UnsafeRawPointer, images: Int, into y: UnsafeMutableRawPointer,
              outputBytes: Int, workspace: Workspace, threads: Int, slots: Int) {
    let real = steps.filter { !($0 is ReshapeStep) }
    guard !real.isEmpty else {
        y.copyMemory(from: x, byteCount: outputBytes)
        return
    }
    var current = x
    var slot = 0
    for (i, step) in real.enumerated() {
        let dst = i == real.count - 1 ? y : workspace.raw(slots + slot * 4, bytes: max(64, images * step.output.bytes))
        step.run(current, images: images, into: dst, workspace: workspace, threads: threads)
        current = UnsafeRawPointer(dst)
        slot ^= 1
    }
}

/// XNOR-Net's activation scaling: the compiled body (pack, packed binary layer with Float
/// output) times each image's `mean|x|`, computed as the training path computes it.
final class InputScaledStep: InferenceStep {
    let body: [InferenceStep]
    let layer: InputScaled
    let input: Layout, output: Layout
    let inShape: [Int], outCount: Int

    init(_ layer: InputScaled, input: [Int], output: [Int]) throws {
        self.layer = layer
        var shape = input
        let shapes = layer.body.map { l -> [Int] in shape = l.outputShape(for: shape); return shape }
        body = try Compiler(layers: layer.body, shapes: shapes, inputShape: input).compile(expectingClasses: nil)
        self.input = .float(input)
        self.output = .float(output)
        inShape = input
        outCount = output.reduce(1, *)
    }

    var reentrant: Bool { body.allSatisfy(\.reentrant) }
    var rowsPerImage: Int { body.map(\.rowsPerImage).max() ?? 1 }
    var summary: String {
        "[" + body.map(\.summary).joined(separator: "; ") + "] x " + (layer.window != nil ? "box-filtered mean|input| per output pixel" : "mean|input| per image")
    }

    func run(_ x: UnsafeRawPointer, images: Int, into y: UnsafeMutableRawPointer, workspace: Workspace, threads: Int) {
        runChain(body, x, images: images, into: y, outputBytes: images * outCount * 4, workspace: workspace,
                 threads: threads, slots: ResidualStep.slotBase + 9)
        let scales = layer.scales(x.assumingMemoryBound(to: Float.self), batch: images, shape: inShape)
        InputScaled.scaleRows(y.assumingMemoryBound(to: Float.self), scales, perScale: images * outCount / max(1, scales.count))
    }
}

/// Packs sign(x + shift) along channels: shift none, a per-channel constant (RSign,
/// SD-BNN's static shift), or SD-BNN's per-sample squeeze-and-excitation shift, computed
/// per sample with the training path's Float operations before the sign.
final class ShiftedPackStep: InferenceStep {
    let input: Layout, output: Layout
    let pixels: Int, channels: Int
    let constant: [Float]?
    let excitation: SqueezeExcitation?

    init(shape: [Int], constant: [Float]?, excitation: SqueezeExcitation?) {
        input = .float(shape)
        if shape.count == 3 {
            output = .packed(height: shape[0], width: shape[1], channels: shape[2], flat: false)
            pixels = shape[0] * shape[1]; channels = shape[2]
        } else {
            let n = shape.reduce(1, *)
            output = .packed(height: 1, width: 1, channels: n, flat: true)
            pixels = 1; channels = n
        }
        self.constant = constant
        self.excitation = excitation
    }

    var summary: String {
        let what = excitation != nil ? "sign(x + per-sample SE shift)" : constant != nil ? "sign(x + channel shift)" : "signs"
        return "pack \(what) \(input) -> \(output)"
    }

    func run(_ x: UnsafeRawPointer, images: Int, into y: UnsafeMutableRawPointer, workspace: Workspace, threads: Int) {
        let wpp = BinaryKernels.words(forBits: channels)
        let xf = x.assumingMemoryBound(to: Float.self)
        let rows = images * pixels
        var src = UnsafePointer(xf)
        if constant != nil || excitation != nil {
            let shifted = workspace.floats(2, count: rows * channels)
            if let constant {
                addChannels(xf, rows: rows, channels: channels, constant, into: shifted)
            } else {
                shifted.update(from: xf, count: rows * channels)
            }
            if let excitation {
                excitation.addGates(excitation.gates(xf, batch: images, pixels: pixels).gates, to: shifted,
                                    batch: images, pixels: pixels)
            }
            src = UnsafePointer(shifted)
        }
        BinaryKernels.pack(src, rows: rows, cols: channels, srcStride: channels,
                           into: y.assumingMemoryBound(to: UInt64.self), dstStride: wpp)
    }
}
