import BennBLAS
import BennRandom
import BennTensor
import CBennOps

/// Fully connected layer without bias: y = x · Wᵀ with W of shape [out, in].
///
/// With `binaryWeights` the forward pass uses sign(W) and the weight gradient passes
/// straight through where |W| <= 1; the latent W is clipped to [-1, 1] by the optimizer.
/// With `binaryInput` the caller guarantees x is ±1 (a `SignActivation` precedes it), which
/// lets the forward pass run on packed XNOR/popcount kernels.
public final class Dense: Layer {
    public var needsInputGradient = true
    public let weight: Parameter
    public let inputs: Int, outputs: Int
    public let binaryWeights: Bool, binaryInput: Bool

    private var input = Tensor(shape: [0])
    private var effectiveWeight = Tensor(shape: [0])

    public init(inputs: Int, outputs: Int, binaryWeights: Bool, binaryInput: Bool,
                name: String, rng: inout SeededGenerator) {
        self.inputs = inputs
        self.outputs = outputs
        self.binaryWeights = binaryWeights
        self.binaryInput = binaryInput
        weight = Parameter(name: "\(name).weight",
                           value: Initializer.glorotUniform(shape: [outputs, inputs], fanIn: inputs, fanOut: outputs, rng: &rng),
                           clipRange: binaryWeights ? -1...1 : nil)
    }

    public var parameters: [Parameter] { [weight] }
    public func outputShape(for input: [Int]) -> [Int] { [outputs] }

    /// The weights the forward pass multiplies by: sign(W) for binary layers.
    public func forwardWeights() -> Tensor {
        guard binaryWeights else { return weight.value }
        var w = Tensor(uninitializedShape: weight.value.shape)
        let n = w.count
        weight.value.withPointer { src in w.withMutablePointer { Binarize.sign(src, into: $0, count: n) } }
        return w
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rowSize == inputs, "dense layer expects \(inputs) inputs, got shape \(x.shape)")
        effectiveWeight = forwardWeights()
        if training { input = x }
        var y = Tensor(uninitializedShape: [x.rows, outputs])
        BinaryForward.denseProduct(x, effectiveWeight, latentWeights: weight.value,
                                   binary: binaryWeights && binaryInput, into: &y)
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        BLAS.setThreads(Parallelism.threads)
        // dW (accumulated): dyᵀ · x, masked by the weight STE (|W| <= 1) for binary layers.
        // Latent weights clipped to [-1, 1] never leave the mask, so then the product goes
        // straight into the gradient (no temporary, no extra pass over the weights).
        if binaryWeights && !weight.staysInsideSTEWindow {
            var dw = Tensor(uninitializedShape: weight.value.shape)
            MatMul.gemm(dy, transposeA: true, input, into: &dw)
            let n = dw.count
            weight.value.withPointer { w in
                dw.withPointer { g in
                    weight.grad.withMutablePointer { acc in
                        benn_masked_accumulate(w, g, acc, n)
                    }
                }
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
