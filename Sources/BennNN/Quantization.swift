import CBennOps
import Foundation

/// The backward rule of a sign quantizer. The forward pass is always sign with
/// sign(0) = +1; only the surrogate derivative used in its place differs per method.
public enum Surrogate: Codable, Sendable, Equatable {
    /// `1[|x| <= 1]` (BNN, XNOR-Net; larq's `ste_sign`).
    case ste
    /// Bi-Real's ApproxSign: `2 - 2|x|` on `|x| <= 1`, else 0.
    case approxSign
    /// IR-Net's error decay estimator (SD-BNN): `k·t·(1 - tanh²(t·x))`, with `t` growing
    /// log-linearly from `minimumTemperature` to `maximumTemperature` over training and
    /// `k = max(1/t, 1)`.
    case ede(minimumTemperature: Float, maximumTemperature: Float)

    /// The EDE temperature at the start of epoch `epoch` of `epochs` (1 for other rules).
    public func temperature(epoch: Int, epochs: Int) -> Float {
        guard case let .ede(lo, hi) = self else { return 1 }
        let f = Float(epoch) / Float(max(1, epochs))
        return powf(10, log10f(lo) + (log10f(hi) - log10f(lo)) * f)
    }

    /// `q̃'(x)` at temperature `t`.
    @inline(__always)
    public func derivative(_ x: Float, temperature t: Float) -> Float {
        switch self {
        case .ste: return abs(x) <= 1 ? 1 : 0
        case .approxSign: return abs(x) <= 1 ? 2 - 2 * abs(x) : 0
        case .ede:
            var dx: Float = 0, one: Float = 1, v = x
            benn_ede_backward(&v, &one, &dx, 1, t)
            return dx
        }
    }

    /// `dx[i] = dy[i]·q̃'(x[i])` over `n` values, vectorised.
    public func backward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
                         count n: Int, temperature t: Float) {
        switch self {
        case .ste: benn_ste_backward(x, dy, dx, n)
        case .approxSign: benn_approxsign_backward(x, dy, dx, n)
        case .ede: benn_ede_backward(x, dy, dx, n, t)
        }
    }

    /// The smooth function whose derivative the surrogate is (for gradient checks and docs):
    /// hardtanh, the ApproxSign polynomial, `k·tanh(t·x)`.
    public func proxy(_ x: Float, temperature t: Float) -> Float {
        switch self {
        case .ste: return min(max(x, -1), 1)
        case .approxSign:
            if x < -1 { return -1 }
            if x < 0 { return 2 * x + x * x }
            if x < 1 { return 2 * x - x * x }
            return 1
        case .ede: return max(1 / t, 1) * tanhf(t * x)
        }
    }
}

/// What is added to an activation before its sign is taken.
public enum ActivationShift: Codable, Sendable, Equatable {
    case none
    /// ReActNet's RSign: a learnable per-channel bias `b` (sign(x + b); threshold `-b`).
    case learnable
    /// SD-BNN's static activation self-distribution: `x + sigmoid(b_c)`.
    case selfDistributionStatic
    /// SD-BNN's activation self-distribution: a per-sample, per-channel shift
    /// `sigmoid(FC2(ReLU(FC1(GAP(x)))))` from a squeeze-and-excitation block whose hidden
    /// width is `channels / reduction` (at least 1).
    case selfDistribution(reduction: Int)
}

/// How activations are binarized: sign of the (shifted) input, with a surrogate gradient.
public struct ActivationQuantizer: Codable, Sendable, Equatable {
    public var surrogate: Surrogate
    public var shift: ActivationShift
    public init(surrogate: Surrogate = .ste, shift: ActivationShift = .none) {
        self.surrogate = surrogate
        self.shift = shift
    }
    /// BNN's activation: sign with the clipped straight-through estimator.
    public static let sign = ActivationQuantizer()
}

/// How the latent weights of a binary layer become the weights of the forward pass.
public struct WeightQuantizer: Codable, Sendable, Equatable {
    public enum Scale: String, Codable, Sendable {
        /// ±1 weights.
        case none
        /// `α_o·sign(W_o)` with `α_o = mean|W_o|` per output channel (XNOR-Net, Bi-Real, ReActNet).
        case meanAbsolute = "mean_absolute"
    }
    public enum Gradient: String, Codable, Sendable {
        /// The surrogate applied to the latent weight; the scale is treated as a constant
        /// (ReActNet and Bi-Real's public code).
        case straightThrough = "straight_through"
        /// Bi-Real's paper rule: the straight-through gradient times `α_o`.
        case magnitudeAware = "magnitude_aware"
        /// XNOR-Net's full chain rule through `α_o`:
        /// `(1/n)·sign(W_i)·Σ_j g_j·sign(W_j) + α_o·q̃'(W_i)·g_i`.
        case xnor
    }
    public var scale: Scale
    public var gradient: Gradient
    public var surrogate: Surrogate
    /// SD-BNN's weight self-distribution: binarize `W + sigmoid(a_o)·0.01·mean(W_o)` with a
    /// learnable gate `a` per output channel (the mean is not differentiated).
    public var selfDistribution: Bool

    public init(scale: Scale = .none, gradient: Gradient = .straightThrough, surrogate: Surrogate = .ste,
                selfDistribution: Bool = false) {
        self.scale = scale
        self.gradient = gradient
        self.surrogate = surrogate
        self.selfDistribution = selfDistribution
    }

    /// BNN's weights: sign, straight-through inside |w| <= 1, latent weights clipped.
    public static let sign = WeightQuantizer()

    /// Whether the gradient is the plain masked straight-through one (the fast path).
    public var isPlainSign: Bool { scale == .none && surrogate == .ste && !selfDistribution }
}

@inline(__always)
func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
