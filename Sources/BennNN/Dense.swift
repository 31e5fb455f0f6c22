import BennBLAS
import BennRandom
import BennTensor
import CBennOps

/// Fully connected layer without bias: y = x · Wᵀ with W of shape [out, in].
///
/// With a weight quantizer the forward pass multiplies by sign(W) (or the method's
/// binarized weights, see `WeightQuantizer`) and scales each output by the method's
/// per-channel scale after the exact ±1 product; the latent W is clipped to [-1, 1] by the
/// optimizer. With `binaryInput` the caller guarantees x is ±1 (a sign activation precedes
/// it), which lets the forward pass run on packed XNOR/popcount kernels.
public final class Dense: Layer {
    public var needsInputGradient = true
    public let weight: Parameter
    public let inputs: Int, outputs: Int
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

    private var input = Tensor(shape: [0])
    private var effectiveWeight = Tensor(shape: [0])

    public init(inputs: Int, outputs: Int, quantizer: WeightQuantizer?, binaryInput: Bool,
                name: String, rng: inout SeededGenerator) {
        self.inputs = inputs
        self.outputs = outputs
        self.quantizer = quantizer
        self.binaryInput = binaryInput
        weight = Parameter(name: "\(name).weight",
                           value: Initializer.glorotUniform(shape: [outputs, inputs], fanIn: inputs, fanOut: outputs, rng: &rng),
                           clipRange: quantizer != nil ? -1...1 : nil)
        binarizer = quantizer.map { WeightBinarizer($0, outputs: outputs, name: name) }
    }

    public convenience init(inputs: Int, outputs: Int, binaryWeights: Bool, binaryInput: Bool,
                            name: String, rng: inout SeededGenerator) {
        self.init(inputs: inputs, outputs: outputs, quantizer: binaryWeights ? .sign : nil,
                  binaryInput: binaryInput, name: name, rng: &rng)
    }

    /// Whether the forward pass uses binarized weights now.
    public var binaryWeights: Bool { binarizer != nil && weightsBinarized }

    public var parameters: [Parameter] { [weight] + (binarizer?.gate.map { [$0] } ?? []) }
    public func outputShape(for input: [Int]) -> [Int] { [outputs] }

    public func setTrainingProgress(epoch: Int, epochs: Int) {
        binarizer?.temperature = quantizer?.surrogate.temperature(epoch: epoch, epochs: epochs) ?? 1
    }

    /// The binarized weights of the current latent weights (for folding).
    public func binarizedWeights() -> BinarizedWeights? {
        guard binaryWeights else { return nil }
        return binarizer?.compute(weight.value).0
    }

    /// The weights the forward pass multiplies by: sign(W) scaled per output for binary
    /// layers (the scale is applied to the product, not to these weights, in the forward pass).
    public func forwardWeights() -> Tensor {
        guard binaryWeights, let b = binarizer else { return weight.value }
        return b.compute(weight.value).0.effective
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rowSize == inputs, "dense layer expects \(inputs) inputs, got shape \(x.shape)")
        if training { input = x }
        var y = Tensor(uninitializedShape: [x.rows, outputs])
        guard binaryWeights, let b = binarizer else {
            effectiveWeight = weight.value
            BinaryForward.denseProduct(x, weight.value, latentWeights: weight.value, binary: false, into: &y)
            return y
        }
        let w = b.binarize(weight.value)
        effectiveWeight = w.effective
        BinaryForward.denseProduct(x, w.signs, latentWeights: w.source, binary: binaryInput, into: &y)
        if let s = w.scale { scaleColumns(&y, s) }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        BLAS.setThreads(Parallelism.threads)
        if binaryWeights, let b = binarizer {
            if b.quantizer.isPlainSign && weight.staysInsideSTEWindow {
                // Latent weights clipped to [-1, 1] never leave the mask: the product goes
                // straight into the gradient (no temporary, no extra pass).
                MatMul.gemm(dy, transposeA: true, input, into: &weight.grad, beta: 1)
            } else {
                var dw = Tensor(uninitializedShape: weight.value.shape)
                MatMul.gemm(dy, transposeA: true, input, into: &dw)
                b.accumulate(dEffective: dw, into: weight)
            }
        } else {
            MatMul.gemm(dy, transposeA: true, input, into: &weight.grad, beta: 1)
        }
        guard needsInputGradient else { return Tensor(shape: [0]) }
        var dx = Tensor(uninitializedShape: input.shape)
        MatMul.gemm(dy, effectiveWeight, into: &dx)
        return dx
    }
}
