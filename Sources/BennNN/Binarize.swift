import BennRandom
import BennTensor
import CBennOps

/// The binarization rules shared by every binary layer.
public enum Binarize {
    /// sign with sign(0) = +1 (and -0.0 gives +1): the packed encoding sets a bit only
    /// for values below zero, so training and packed inference agree on every input.
    @inline(__always)
    public static func sign(_ x: Float) -> Float { x < 0 ? -1 : 1 }

    /// Writes sign(src) into dst.
    public static func sign(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        benn_sign(src, dst, count)
    }
}

/// Binary activation: forward sign(x + shift), backward the quantizer's surrogate.
///
/// The shift is none (BNN, XNOR-Net, Bi-Real), a learnable per-channel bias (ReActNet's
/// RSign), or SD-BNN's activation self-distribution (static per channel, or per sample
/// from a squeeze-and-excitation block); see `ActivationShift`. Channels are the last
/// dimension.
public final class SignActivation: Layer {
    public var needsInputGradient = true
    public let quantizer: ActivationQuantizer
    /// The learnable per-channel bias (RSign) or pre-sigmoid static shift (SD-BNN).
    public let bias: Parameter?
    /// The squeeze-and-excitation block of SD-BNN's per-sample shift.
    public let excitation: SqueezeExcitation?
    var temperature: Float = 1
    /// False while Bi-Real's clip initialization pre-trains the network: the forward pass is
    /// then `clip(x + shift, -1, 1)` with its own gradient `1[|x + shift| <= 1]`, a real-valued
    /// stand-in for the sign that the binary network later replaces.
    public var activationsBinarized = true
    private var shifted = Tensor(shape: [0])

    public init(_ quantizer: ActivationQuantizer = .sign, channels: Int = 0, name: String = "",
                rng: inout SeededGenerator) {
        self.quantizer = quantizer
        switch quantizer.shift {
        case .none:
            bias = nil; excitation = nil
        case .learnable:
            bias = Parameter(name: "\(name).rsign_bias", value: Tensor(shape: [channels]), decays: false)
            excitation = nil
        case .selfDistributionStatic:
            bias = Parameter(name: "\(name).asd_bias", value: Tensor(shape: [channels]), decays: false)
            excitation = nil
        case .selfDistribution(let reduction):
            bias = nil
            excitation = SqueezeExcitation(channels: channels, hidden: max(1, channels / max(1, reduction)),
                                           name: "\(name).asd", rng: &rng)
        }
    }

    /// BNN's sign with the clipped straight-through estimator.
    public convenience init() {
        var rng = SeededGenerator(seed: 0)
        self.init(.sign, rng: &rng)
    }

    public var parameters: [Parameter] { (bias.map { [$0] } ?? []) + (excitation?.parameters ?? []) }

    public func outputShape(for input: [Int]) -> [Int] { input }

    public func setTrainingProgress(epoch: Int, epochs: Int) {
        temperature = quantizer.surrogate.temperature(epoch: epoch, epochs: epochs)
    }

    /// The per-channel constant added before the sign (RSign bias, SD-BNN static shift),
    /// computed with the forward pass's Float operations; nil when there is none or the
    /// shift depends on the input.
    public var constantShift: [Float]? {
        guard let bias else { return nil }
        if quantizer.shift == .selfDistributionStatic { return bias.value.storage.map(sigmoid) }
        return bias.value.storage
    }

    /// x + shift, exactly as the forward pass computes it.
    public func shiftedInput(_ x: Tensor) -> Tensor {
        var out = x
        if let c = constantShift {
            let channels = c.count, rows = x.count / max(1, channels)
            out = Tensor(uninitializedShape: x.shape)
            x.withPointer { px in out.withMutablePointer { benn_add_rows(px, $0, rows, channels, c) } }
        } else if let excitation {
            out = excitation.apply(x)
        }
        return out
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let s = quantizer.shift == .none ? x : shiftedInput(x)
        if training { shifted = s }
        var y = Tensor(uninitializedShape: x.shape)
        if !activationsBinarized {
            // The clip is the STE's own proxy, so the backward pass below is its exact gradient.
            s.withPointer { px in y.withMutablePointer { py in
                for i in 0..<x.count { py[i] = Surrogate.ste.proxy(px[i], temperature: 1) }
            } }
            return y
        }
        s.withPointer { px in y.withMutablePointer { py in Binarize.sign(px, into: py, count: x.count) } }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = Tensor(uninitializedShape: dy.shape)
        let n = dy.count
        shifted.withPointer { px in
            dy.withPointer { pg in
                dx.withMutablePointer { pd in
                    let rule = activationsBinarized ? quantizer.surrogate : .ste
                    rule.backward(px, pg, into: pd, count: n, temperature: temperature)
                }
            }
        }
        if let bias {
            // d(x + b)/db = 1; d(x + sigmoid(b))/db = sigmoid'(b).
            let c = bias.value.count, rows = n / max(1, c)
            var sums = [Float](repeating: 0, count: c)
            dx.withPointer { pd in benn_column_sums(pd, rows, c, &sums) }
            for j in 0..<c {
                var s = sums[j]
                if quantizer.shift == .selfDistributionStatic {
                    let sg = sigmoid(bias.value[j])
                    s *= sg * (1 - sg)
                }
                bias.grad[j] += s
            }
        } else if let excitation {
            dx = excitation.backward(dx)
        }
        return dx
    }
}
