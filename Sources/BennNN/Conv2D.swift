import BennBLAS
import BennCore
import BennRandom
import BennTensor

/// 2-D convolution without bias on NHWC tensors, weights [out, kh, kw, in].
///
/// Work is split over images between threads; each thread lowers a group of images
/// with im2col and multiplies with BLAS on one thread, which keeps the lowered
/// columns in cache and scales across cores without BLAS's own threading.
/// `padValue` is what out-of-image taps read: +1 for binarized inputs, so the packed
/// kernels' bit 0 matches training (docs/ARCHITECTURE.md, Conventions), 0 for real-valued inputs.
public final class Conv2D: Layer {
    public var needsInputGradient = true
    public let weight: Parameter
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, pad: Int
    public let padValue: Float
    /// nil for a real-valued layer.
    public let quantizer: WeightQuantizer?
    public let binaryInput: Bool
    /// False while a two-step recipe trains real weights first (ReActNet step 1).
    public var weightsBinarized = true
    let binarizer: WeightBinarizer?
    /// The per-output weight scale of a scaled method (xnor, bireal, reactnet) as an artifact
    /// stores it beside the weights' signs; nil recomputes mean|W| from the latent weights.
    public var storedWeightScale: [Float]? {
        get { binarizer?.storedScale }
        set { binarizer?.storedScale = newValue }
    }
    /// Whether the forward pass uses binarized weights now.
    public var binaryWeights: Bool { binarizer != nil && weightsBinarized }
    private var forwardSigns = Tensor(shape: [0])

    private var input = Tensor(shape: [0])
    private var effectiveWeight = Tensor(shape: [0])
    /// Per-thread lowering buffers, kept between steps so the hot loop does not
    /// allocate (and page-fault) megabytes every call.
    private var scratch: [ScratchBuffer] = []

    private func scratchBuffers(parts: Int, count: Int) -> [UnsafeMutablePointer<Float>] {
        while scratch.count < parts { scratch.append(ScratchBuffer()) }
        return scratch[0..<parts].map { $0.pointer(count: count) }
    }

    public convenience init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, pad: Int,
                            binaryWeights: Bool, binaryInput: Bool, name: String, rng: inout SeededGenerator) {
        self.init(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, pad: pad,
                  quantizer: binaryWeights ? .sign : nil, binaryInput: binaryInput, name: name, rng: &rng)
    }

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, pad: Int,
                quantizer: WeightQuantizer?, binaryInput: Bool, name: String, rng: inout SeededGenerator) {
        (self.inChannels, self.outChannels, self.kernel, self.stride, self.pad, self.quantizer, self.binaryInput) =
            (inChannels, outChannels, kernel, stride, pad, quantizer, binaryInput)
        self.padValue = binaryInput ? 1 : 0
        let fanIn = kernel * kernel * inChannels, fanOut = kernel * kernel * outChannels
        weight = Parameter(name: "\(name).weight",
                           value: Initializer.glorotUniform(shape: [outChannels, kernel, kernel, inChannels],
                                                            fanIn: fanIn, fanOut: fanOut, rng: &rng),
                           clipRange: quantizer != nil ? -1...1 : nil)
        binarizer = quantizer.map { WeightBinarizer($0, outputs: outChannels, name: name) }
    }

    public var parameters: [Parameter] { [weight] + (binarizer?.gate.map { [$0] } ?? []) }

    public func setTrainingProgress(epoch: Int, epochs: Int) {
        binarizer?.temperature = quantizer?.surrogate.temperature(epoch: epoch, epochs: epochs) ?? 1
    }

    /// XNOR-Net-PyTorch's latent-weight constraint: every (output, kernel row, kernel column)
    /// fibre of the latent weights is shifted to mean 0 over the input channels, then clipped.
    /// Balanced fibres give about as many +1 as −1 weights at each tap. Only layers with
    /// binary weights and binary inputs take part: XNOR-Net keeps the first layer real, and a
    /// one-channel fibre would centre to all zeros.
    public func centerLatentWeightsOverInputChannels() {
        guard binarizer != nil, binaryInput, inChannels > 1 else { return }
        let c = inChannels, fibres = weight.value.count / c
        weight.value.withMutablePointer { w in
            for f in 0..<fibres {
                let row = w + f * c
                var sum: Float = 0
                for i in 0..<c { sum += row[i] }
                let mean = sum / Float(c)
                for i in 0..<c { row[i] -= mean }
            }
        }
        weight.clip()
    }

    /// The binarized weights of the current latent weights (for folding).
    public func binarizedWeights() -> BinarizedWeights? {
        guard binaryWeights else { return nil }
        return binarizer?.compute(weight.value).0
    }

    func geometry(_ shape: [Int]) -> ConvGeometry {
        ConvGeometry(height: shape[0], width: shape[1], channels: shape[2],
                     kernelH: kernel, kernelW: kernel, stride: stride, pad: pad)
    }

    public func outputShape(for input: [Int]) -> [Int] {
        let g = geometry(input)
        return [g.outHeight, g.outWidth, outChannels]
    }

    /// The weights of the forward pass: the latent weights, or the binarized ones with their
    /// per-output scale folded in.
    public func forwardWeights() -> Tensor {
        guard binaryWeights, let b = binarizer else { return weight.value }
        return b.compute(weight.value).0.effective
    }

    /// Images lowered at once: enough rows for an efficient GEMM, few enough to stay in cache.
    private func groupSize(_ g: ConvGeometry) -> Int { max(1, Conv2D.groupRows / max(1, g.outPixels)) }
    static let groupRows = 1024

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rank == 4 && x.shape[3] == inChannels,
                     "convolution expects [batch, height, width, \(inChannels)], got \(x.shape)")
        let g = geometry(Array(x.shape.dropFirst()))
        if training { input = x }
        let batch = x.rows
        var y = Tensor(uninitializedShape: [batch, g.outHeight, g.outWidth, outChannels])
        var scale: [Float]?
        if binaryWeights, let b = binarizer {
            let w = b.binarize(weight.value)
            effectiveWeight = w.effective
            forwardSigns = w.signs
            scale = w.scale
            if binaryInput && BinaryForward.usePackedKernels {
                BinaryForward.convolution(x, latentWeights: w.source, geometry: g, outChannels: outChannels, into: &y)
                if let scale { scaleColumns(&y, scale) }
                return y
            }
        } else {
            effectiveWeight = weight.value
            forwardSigns = weight.value
        }
        let group = groupSize(g), k = g.patch, cout = outChannels, pv = padValue
        BLAS.setThreads(1)
        let buffers = scratchBuffers(parts: Parallelism.ranges(batch).count, count: group * g.outPixels * k)
        x.withPointer { px in
            forwardSigns.withPointer { pw in
                y.withMutablePointer { py in
                    let ptrs = UnsafeSendableBox((px, pw, py, buffers))
                    Parallelism.forEachRange(batch) { part, range in
                        let (px, pw, py, buffers) = ptrs.value
                        let cols = buffers[part]
                        var n = range.lowerBound
                        while n < range.upperBound {
                            let count = min(group, range.upperBound - n)
                            g.im2col(px + n * g.inPixels * g.channels, images: count, padValue: pv, into: cols)
                            BLAS.sgemm(.none, .transpose, m: count * g.outPixels, n: cout, k: k,
                                       a: cols, lda: k, b: pw, ldb: k,
                                       c: py + n * g.outPixels * cout, ldc: cout)
                            n += count
                        }
                    }
                }
            }
        }
        if let scale { scaleColumns(&y, scale) }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let g = geometry(Array(input.shape.dropFirst()))
        let batch = input.rows, group = groupSize(g), k = g.patch, cout = outChannels, pv = padValue
        let parts = Parallelism.ranges(batch)
        var partialGrads = [Float](repeating: 0, count: parts.count * cout * k)
        let wantDx = needsInputGradient
        var dx = Tensor(shape: wantDx ? input.shape : [0])
        BLAS.setThreads(1)
        let buffers = scratchBuffers(parts: parts.count, count: group * g.outPixels * k)
        input.withPointer { px in
            dy.withPointer { pdy in
                effectiveWeight.withPointer { pw in
                    dx.withMutablePointer { pdx in
                        partialGrads.withUnsafeMutableBufferPointer { pg in
                            let ptrs = UnsafeSendableBox((px, pdy, pw, pdx, pg.baseAddress!, buffers))
                            Parallelism.forEachRange(batch) { part, range in
                                let (px, pdy, pw, pdx, pg, buffers) = ptrs.value
                                let gw = pg + part * cout * k
                                let c = buffers[part]
                                var n = range.lowerBound
                                while n < range.upperBound {
                                    let count = min(group, range.upperBound - n)
                                    let rows = count * g.outPixels
                                    let dyBlock = pdy + n * g.outPixels * cout
                                    g.im2col(px + n * g.inPixels * g.channels, images: count, padValue: pv, into: c)
                                    // dW += dyᵀ · cols
                                    BLAS.sgemm(.transpose, .none, m: cout, n: k, k: rows,
                                               a: dyBlock, lda: cout, b: c, ldb: k,
                                               beta: 1, c: gw, ldc: k)
                                    if wantDx {
                                        // dcols = dy · W, then scattered back to pixels.
                                        BLAS.sgemm(.none, .none, m: rows, n: k, k: cout,
                                                   a: dyBlock, lda: cout, b: pw, ldb: k,
                                                   c: c, ldc: k)
                                        g.col2im(c, images: count, into: pdx + n * g.inPixels * g.channels)
                                    }
                                    n += count
                                }
                            }
                        }
                    }
                }
            }
        }
        // Sum the per-thread weight gradients in part order (deterministic per thread count).
        let total = cout * k
        if binaryWeights, let b = binarizer, !b.quantizer.isPlainSign {
            var dw = Tensor(uninitializedShape: weight.value.shape)
            dw.withMutablePointer { acc in
                partialGrads.withUnsafeBufferPointer { pg in
                    for i in 0..<total {
                        var s: Float = 0
                        for p in 0..<parts.count { s += pg[p * total + i] }
                        acc[i] = s
                    }
                }
            }
            b.accumulate(dEffective: dw, into: weight)
            return dx
        }
        let insideWindow = !binaryWeights || weight.staysInsideSTEWindow
        weight.value.withPointer { w in
            weight.grad.withMutablePointer { acc in
                partialGrads.withUnsafeBufferPointer { pg in
                    for i in 0..<total {
                        var s: Float = 0
                        for p in 0..<parts.count { s += pg[p * total + i] }
                        if insideWindow || abs(w[i]) <= 1 { acc[i] += s }
                    }
                }
            }
        }
        return dx
    }
}

/// A growable float buffer owned by one layer and used by one thread at a time.
final class ScratchBuffer {
    private var base: UnsafeMutablePointer<Float>?
    private var capacity = 0

    func pointer(count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            base?.deallocate()
            base = .allocate(capacity: count)
            capacity = count
        }
        return base!
    }

    deinit { base?.deallocate() }
}
