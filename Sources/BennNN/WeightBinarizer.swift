import BennTensor
import CBennOps

/// The forward weights of a binary layer: `signs` (±1, `[out, n]`), optionally scaled per
/// output channel by `scale`, and the latent tensor `source` whose signs they are.
public struct BinarizedWeights {
    /// The tensor whose signs are the weights: the latent weights, or SD-BNN's shifted ones.
    public var source: Tensor
    public var signs: Tensor
    /// Per-output-channel scale `α_o` applied to the binary product, if the method has one.
    public var scale: [Float]?
}

/// Turns a binary layer's latent weights `[out, n]` into its forward weights and routes the
/// gradient with respect to the forward weights back to the latent weights (and SD-BNN's
/// gate), following a `WeightQuantizer`.
final class WeightBinarizer {
    let quantizer: WeightQuantizer
    /// SD-BNN's learnable gate `a` per output channel (nil without self-distribution).
    let gate: Parameter?
    /// The surrogate's temperature (EDE); set per epoch.
    var temperature: Float = 1
    /// A per-output scale given from outside (an artifact stores scaled weights as signs and
    /// their trained scale, which a mean over the signs could not reproduce bit for bit);
    /// nil computes mean|W| from the latent weights.
    var storedScale: [Float]?
    private var current: BinarizedWeights?
    private var filterMeans: [Float] = []

    init(_ quantizer: WeightQuantizer, outputs: Int, name: String) {
        self.quantizer = quantizer
        gate = quantizer.selfDistribution
            ? Parameter(name: "\(name).wsd_gate", value: Tensor(shape: [outputs]), decays: false) : nil
    }

    /// The forward weights for `latent` (`[out, ...]`), kept for the backward pass.
    func binarize(_ latent: Tensor) -> BinarizedWeights {
        let (result, means) = compute(latent)
        current = result
        filterMeans = means
        return result
    }

    /// The forward weights for `latent` without keeping anything (the folded inference
    /// path calls this, so it sees exactly the training path's Float operations).
    func compute(_ latent: Tensor) -> (BinarizedWeights, filterMeans: [Float]) {
        let rows = latent.rows, n = latent.count / max(1, rows)
        var source = latent
        var filterMeans: [Float] = []
        if let gate {
            // m_o = 0.01 · mean(W_o); W' = W + sigmoid(a_o) · m_o.
            filterMeans = [Float](repeating: 0, count: rows)
            source.withMutablePointer { p in
                for o in 0..<rows {
                    var s: Float = 0
                    for i in 0..<n { s += p[o * n + i] }
                    let m = 0.01 * (s / Float(n))
                    filterMeans[o] = m
                    let shift = sigmoid(gate.value[o]) * m
                    for i in 0..<n { p[o * n + i] += shift }
                }
            }
        }
        var signs = Tensor(uninitializedShape: latent.shape)
        source.withPointer { src in signs.withMutablePointer { Binarize.sign(src, into: $0, count: latent.count) } }
        var scale: [Float]?
        if quantizer.scale == .meanAbsolute, let storedScale {
            scale = storedScale
        } else if quantizer.scale == .meanAbsolute {
            var a = [Float](repeating: 0, count: rows)
            latent.withPointer { p in
                for o in 0..<rows {
                    var s: Float = 0
                    for i in 0..<n { s += abs(p[o * n + i]) }
                    a[o] = s / Float(n)
                }
            }
            scale = a
        }
        return (BinarizedWeights(source: source, signs: signs, scale: scale), filterMeans)
    }

    /// Adds to `latent.grad` (and the gate's gradient) the gradient for `dEffective`, the
    /// gradient with respect to the effective forward weights `α ⊙ signs` of the last
    /// `binarize` call.
    func accumulate(dEffective g: Tensor, into latent: Parameter) {
        guard let w = current else { preconditionFailure("binarize before accumulate") }
        let rows = latent.value.rows, n = latent.value.count / max(1, rows)
        let q = quantizer, t = temperature
        if q.isPlainSign {
            let count = g.count
            if latent.staysInsideSTEWindow {
                latent.grad.withMutablePointer { acc in g.withPointer { pg in for i in 0..<count { acc[i] += pg[i] } } }
            } else {
                latent.value.withPointer { pw in
                    g.withPointer { pg in latent.grad.withMutablePointer { acc in benn_masked_accumulate(pw, pg, acc, count) } }
                }
            }
            return
        }
        // The surrogate's gradient with respect to the binarized source, vectorised.
        var masked = Tensor(uninitializedShape: g.shape)
        w.source.withPointer { src in
            g.withPointer { pg in
                masked.withMutablePointer { q.surrogate.backward(src, pg, into: $0, count: g.count, temperature: t) }
            }
        }
        latent.grad.withMutablePointer { acc in
            masked.withPointer { pm in
                g.withPointer { pg in
                    latent.value.withPointer { lat in
                        for o in 0..<rows {
                            let row = o * n
                            let alpha = w.scale?[o] ?? 1
                            switch q.gradient {
                            case .straightThrough:
                                for i in 0..<n { acc[row + i] += pm[row + i] }
                            case .magnitudeAware:
                                for i in 0..<n { acc[row + i] += pm[row + i] * alpha }
                            case .xnor:
                                var signDot: Float = 0
                                for i in 0..<n { signDot += pg[row + i] * (lat[row + i] < 0 ? -1 : 1) }
                                let spread = signDot / Float(n)
                                for i in 0..<n { acc[row + i] += pm[row + i] * alpha + (lat[row + i] < 0 ? -spread : spread) }
                            }
                            if let gate {
                                var gateSum: Float = 0
                                for i in 0..<n { gateSum += pm[row + i] }
                                let s = sigmoid(gate.value[o])
                                gate.grad[o] += gateSum * filterMeans[o] * s * (1 - s)
                            }
                        }
                    }
                }
            }
        }
    }
}

extension BinarizedWeights {
    /// `α ⊙ signs`, the weights the gradient with respect to the input multiplies by.
    var effective: Tensor {
        guard let scale else { return signs }
        var e = signs
        let rows = e.rows, n = e.count / max(1, rows)
        e.withMutablePointer { p in
            for o in 0..<rows { for i in 0..<n { p[o * n + i] *= scale[o] } }
        }
        return e
    }
}

/// Multiplies each column `j` of the rows x `scale.count` matrix `y` by `scale[j]` (the
/// per-output-channel weight scale, applied after the exact binary product).
func scaleColumns(_ y: inout Tensor, _ scale: [Float]) {
    let c = scale.count, rows = y.count / max(1, c)
    y.withMutablePointer { p in
        scale.withUnsafeBufferPointer { s in
            for r in 0..<rows { for j in 0..<c { p[r * c + j] *= s[j] } }
        }
    }
}
