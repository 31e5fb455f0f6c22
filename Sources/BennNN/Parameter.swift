import BennTensor

/// A trainable tensor with its gradient. Layers own their parameters; optimizers update
/// them in place through this reference.
public final class Parameter {
    public let name: String
    public var value: Tensor {
        didSet { knownInsideClipRange = false }
    }
    /// Set by optimizers right after they clip; any other change of `value` clears it.
    public var knownInsideClipRange = false
    public var grad: Tensor
    /// Latent weights of binary layers are clipped to this range after every step.
    public let clipRange: ClosedRange<Float>?
    /// Whether weight decay applies (not to batch-norm scales and shifts).
    public let decays: Bool

    public init(name: String, value: Tensor, clipRange: ClosedRange<Float>? = nil, decays: Bool = true) {
        self.name = name
        self.value = value
        self.grad = Tensor(shape: value.shape)
        self.clipRange = clipRange
        self.decays = decays
    }

    public func zeroGrad() { grad.fill(0) }

    /// Whether every value is known to lie inside the straight-through window |w| <= 1
    /// (clipped to a range within it and not changed since), so the weight STE's mask is
    /// the identity and need not be applied.
    public var staysInsideSTEWindow: Bool {
        guard knownInsideClipRange, let r = clipRange else { return false }
        return r.lowerBound >= -1 && r.upperBound <= 1
    }

    /// Clamps the value into `clipRange`, if any.
    public func clip() {
        guard let r = clipRange else { return }
        let lo = r.lowerBound, hi = r.upperBound, n = value.count
        value.withMutablePointer { p in
            for i in 0..<n { p[i] = min(max(p[i], lo), hi) }
        }
        knownInsideClipRange = true
    }
}
