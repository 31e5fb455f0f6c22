import BennTensor

/// One step of a network with a hand-written backward pass.
///
/// `forward` keeps what `backward` needs (inputs, masks, statistics); `backward` takes
/// the gradient of the loss with respect to the output, adds parameter gradients into
/// `Parameter.grad` and returns the gradient with respect to the input.
public protocol Layer: AnyObject {
    /// Output shape (without the batch dimension) for an input shape (without batch).
    func outputShape(for input: [Int]) -> [Int]
    func forward(_ x: Tensor, training: Bool) -> Tensor
    func backward(_ dy: Tensor) -> Tensor
    var parameters: [Parameter] { get }
    /// Non-trainable state saved with the model (batch-norm running statistics).
    var buffers: [(name: String, tensor: Tensor)] { get }
    func setBuffer(_ name: String, _ tensor: Tensor)
    /// When false the layer may skip computing the input gradient (first layer).
    var needsInputGradient: Bool { get set }
    /// Called at the start of every training epoch, for rules that change over training
    /// (the EDE surrogate's temperature).
    func setTrainingProgress(epoch: Int, epochs: Int)
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var buffers: [(name: String, tensor: Tensor)] { [] }
    public func setBuffer(_ name: String, _ tensor: Tensor) {}
    public func setTrainingProgress(epoch: Int, epochs: Int) {}
}

/// A layer whose evaluation-mode forward pass reads and writes no state of its own, so
/// compiled inference may run it on several batches at once.
public protocol StatelessInEvaluation: Layer {}

/// A layer whose evaluation forward pass maps each element (or each row of channels) on
/// raw memory, so compiled inference runs it between its own buffers without wrapping
/// them in tensors.
public protocol PointwiseEvaluation: StatelessInEvaluation {
    /// The evaluation forward pass of `count` floats (whole rows of the layer's channels)
    /// from `x` to `y`; the two must not overlap.
    func evaluate(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>)
}

extension PointwiseEvaluation {
    /// `evaluate` over a whole tensor, into a new one of its shape.
    func evaluated(_ x: Tensor) -> Tensor {
        var y = Tensor(uninitializedShape: x.shape)
        x.withPointer { px in y.withMutablePointer { evaluate(px, count: x.count, into: $0) } }
        return y
    }
}
