import BennBLAS
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
        steps.contains { step in
            if case .packed = step.input { return true }
            if case .packed = step.output { return true }
            return false
        }
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
        let maxRows = steps.map(\.rowsPerImage).max() ?? 1
        let perWorker = (n + workers - 1) / workers
        let chunk = reentrant ? max(1, min(perWorker, targetChunkRows / max(1, maxRows))) : n

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

    private func runChunk(_ x: UnsafePointer<Float>, images: Int, into out: UnsafeMutablePointer<Float>,
                          workspace: Workspace, threads: Int) {
        var current = UnsafeRawPointer(x)
        var slot = 0
        for (i, step) in steps.enumerated() {
            if step is ReshapeStep { continue }
            let last = i == steps.count - 1
            let dst = last ? UnsafeMutableRawPointer(out)
                           : workspace.raw(slot, bytes: max(64, images * step.output.bytes))
            step.run(current, images: images, into: dst, workspace: workspace, threads: threads)
            current = UnsafeRawPointer(dst)
            slot ^= 1
        }
        if steps.isEmpty || steps.last is ReshapeStep {
            out.update(from: current.assumingMemoryBound(to: Float.self), count: images * classes)
        }
    }
}

/// Turns a `Sequential` into steps by walking its layers and matching foldable chains.
private struct Compiler {
    let model: Sequential
    let layers: [Layer]
    init(_ model: Sequential) {
        self.model = model
        layers = model.layers
    }

    typealias CompileError = InferenceNetwork.CompileError

    /// The tail "[max pool] [batch norm] [flatten] sign" after layer `i`, if present.
    func signTail(after i: Int, outChannels: Int, allowPool: Bool) -> (end: Int, pool: Int, bn: BatchNorm?, flatten: Bool)? {
        var j = i + 1
        var pool = 1
        if allowPool, j < layers.count, let p = layers[j] as? MaxPool2D { pool = p.size; j += 1 }
        var bn: BatchNorm?
        if j < layers.count, let b = layers[j] as? BatchNorm, b.channels == outChannels { bn = b; j += 1 }
        var flatten = false
        if j < layers.count, layers[j] is Flatten { flatten = true; j += 1 }
        guard j < layers.count, layers[j] is SignActivation else { return nil }
        return (j + 1, pool, bn, flatten)
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

    /// Packs a binary layer's latent weights (bit 1 iff w < 0, i.e. sign(w) = -1) as rows of
    /// `pieces` segments of `channels` bits, each segment padded to whole words.
    func packWeights(_ w: Tensor, rows: Int, pieces: Int, channels: Int) -> PackedWeights {
        let wpp = BinaryKernels.words(forBits: channels)
        var packed = [UInt64](repeating: 0, count: max(1, rows * pieces * wpp))
        w.withPointer { p in
            BinaryKernels.pack(p, rows: rows * pieces, cols: channels, srcStride: channels, into: &packed, dstStride: wpp)
        }
        return PackedWeights(packed, rows: rows, words: pieces * wpp, stride: pieces * wpp)
    }

    func compile() throws -> [InferenceStep] {
        var steps: [InferenceStep] = []
        var layout = Layout.float(model.description.inputShape)
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
                if let d = layer as? Dense, let tail = signTail(after: i, outChannels: d.outputs, allowPool: false) {
                    let (s, b) = affine(tail.bn, channels: d.outputs)
                    let step = RealStemStep(kind: .dense(inputs: d.inputs), weights: d.forwardWeights().storage,
                                            outChannels: d.outputs, pool: 1, scale: s, shift: b,
                                            input: shape, flat: true)
                    steps.append(step)
                    layout = step.output
                    i = tail.end
                    continue
                }
                if let c = layer as? Conv2D, shape.count == 3,
                   let tail = signTail(after: i, outChannels: c.outChannels, allowPool: true) {
                    let g = ConvShape(height: shape[0], width: shape[1], channels: shape[2],
                                      kernel: c.kernel, stride: c.stride, pad: c.pad)
                    let (s, b) = affine(tail.bn, channels: c.outChannels)
                    let step = RealStemStep(kind: .conv(g, padValue: c.padValue), weights: c.forwardWeights().storage,
                                            outChannels: c.outChannels, pool: tail.pool, scale: s, shift: b,
                                            input: shape, flat: tail.flatten)
                    steps.append(step)
                    layout = step.output
                    i = tail.end
                    continue
                }
                if layer is SignActivation, i + 1 < layers.count, isBinary(layers[i + 1]),
                   shape.count == 3 || shape.count == 1 {
                    let step = PackStep(shape: shape)
                    steps.append(step)
                    layout = step.output
                    i += 1
                    continue
                }
                let out = model.shapes[i]
                steps.append(LayerStep(layer, input: shape, output: out))
                layout = .float(out)
                i += 1

            case let .packed(h, w, c, flat):
                if layer is Flatten {
                    layout = .packed(height: h, width: w, channels: c, flat: true)
                    i += 1
                    continue
                }
                if layer is SignActivation {  // sign of ±1 values: nothing to do
                    i += 1
                    continue
                }
                if isBinary(layer), let d = layer as? Dense, d.inputs == h * w * c {
                    let pixels = h * w
                    let weights = packWeights(d.weight.value, rows: d.outputs, pieces: pixels, channels: c)
                    let kind = BinaryStep.Kind.dense(pixels: pixels, channels: c)
                    let k = d.inputs
                    if let tail = signTail(after: i, outChannels: d.outputs, allowPool: false) {
                        let (s, b) = affine(tail.bn, channels: d.outputs)
                        let (t, f) = InferenceFolding.thresholds(scale: s, shift: b, k: k)
                        let out = Layout.packed(height: 1, width: 1, channels: d.outputs, flat: true)
                        steps.append(BinaryStep(kind: kind, weights: weights, outChannels: d.outputs, k: k, pool: 1,
                                                mode: .bits(thresholds: t, flips: f, andMask: InferenceFolding.poolAndMasks(flips: f)),
                                                input: layout, output: out))
                        layout = out
                        i = tail.end
                    } else {
                        var j = i + 1
                        var bn: BatchNorm?
                        if j < layers.count, let b = layers[j] as? BatchNorm, b.channels == d.outputs { bn = b; j += 1 }
                        let (s, b) = bn.map { InferenceFolding.batchNormAffine($0) } ?? ([], [])
                        let out = Layout.float(model.shapes[j - 1])
                        steps.append(BinaryStep(kind: kind, weights: weights, outChannels: d.outputs, k: k, pool: 1,
                                                mode: .float(scale: bn == nil ? nil : s, shift: bn == nil ? nil : b),
                                                input: layout, output: out))
                        layout = out
                        i = j
                    }
                    continue
                }
                if isBinary(layer), let cv = layer as? Conv2D, !flat, cv.inChannels == c {
                    let g = ConvShape(height: h, width: w, channels: c, kernel: cv.kernel, stride: cv.stride, pad: cv.pad)
                    let taps = cv.kernel * cv.kernel
                    let weights = packWeights(cv.weight.value, rows: cv.outChannels, pieces: taps, channels: c)
                    let k = taps * c
                    if let tail = signTail(after: i, outChannels: cv.outChannels, allowPool: true) {
                        let (s, b) = affine(tail.bn, channels: cv.outChannels)
                        let (t, f) = InferenceFolding.thresholds(scale: s, shift: b, k: k)
                        let out = Layout.packed(height: g.outHeight / tail.pool, width: g.outWidth / tail.pool,
                                                channels: cv.outChannels, flat: tail.flatten)
                        steps.append(BinaryStep(kind: .conv(g), weights: weights, outChannels: cv.outChannels, k: k,
                                                pool: tail.pool,
                                                mode: .bits(thresholds: t, flips: f, andMask: InferenceFolding.poolAndMasks(flips: f)),
                                                input: layout, output: out))
                        layout = out
                        i = tail.end
                    } else {
                        var j = i + 1
                        var pool = 1
                        if j < layers.count, let p = layers[j] as? MaxPool2D { pool = p.size; j += 1 }
                        var bn: BatchNorm?
                        if j < layers.count, let b = layers[j] as? BatchNorm, b.channels == cv.outChannels { bn = b; j += 1 }
                        let (s, b) = bn.map { InferenceFolding.batchNormAffine($0) } ?? ([], [])
                        let out = Layout.float(model.shapes[j - 1])
                        steps.append(BinaryStep(kind: .conv(g), weights: weights, outChannels: cv.outChannels, k: k,
                                                pool: pool, mode: .float(scale: bn == nil ? nil : s, shift: bn == nil ? nil : b),
                                                input: layout, output: out))
                        layout = out
                        i = j
                    }
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
        guard case .float(let shape) = layout, shape.reduce(1, *) == model.description.classes else {
            throw CompileError(description: "compiled network ends in \(layout), expected \(model.description.classes) logits")
        }
        return steps
    }
}
