import BennRandom
import BennTensor

/// SD-BNN's activation self-distribution block: adds to every channel of each sample
/// `s = sigmoid(W2 · ReLU(W1 · GAP(x)))` (no biases), a per-sample shift in (0, 1).
/// Input `[batch, ..., channels]`; the average is over everything between.
public final class SqueezeExcitation {
    public let fc1: Parameter  // [hidden, channels]
    public let fc2: Parameter  // [channels, hidden]
    public let channels: Int, hidden: Int
    private var pooled: [Float] = [], activated: [Float] = [], gates: [Float] = []
    private var inputShape: [Int] = []

    init(channels: Int, hidden: Int, name: String, rng: inout SeededGenerator) {
        self.channels = channels
        self.hidden = hidden
        fc1 = Parameter(name: "\(name).fc1", value: Initializer.glorotUniform(shape: [hidden, channels],
                        fanIn: channels, fanOut: hidden, rng: &rng))
        fc2 = Parameter(name: "\(name).fc2", value: Initializer.glorotUniform(shape: [channels, hidden],
                        fanIn: hidden, fanOut: channels, rng: &rng))
    }

    public var parameters: [Parameter] { [fc1, fc2] }

    /// The per-sample gates `[batch, channels]` for `x` (a pure function of `x` and the
    /// weights, shared by training and folded inference).
    public func gates(_ x: UnsafePointer<Float>, batch: Int, pixels: Int) -> (pooled: [Float], hidden: [Float], gates: [Float]) {
        let c = channels, h = hidden
        var z = [Float](repeating: 0, count: batch * c)
        z.withUnsafeMutableBufferPointer { zb in
            // Pointer rows instead of indexed arrays: the pooling sum runs over every pixel
            // and must vectorise; the order of additions is unchanged.
            for n in 0..<batch {
                let sum = zb.baseAddress! + n * c
                var row = x + n * pixels * c
                for _ in 0..<pixels {
                    for j in 0..<c { sum[j] += row[j] }
                    row += c
                }
                for j in 0..<c { sum[j] /= Float(pixels) }
            }
        }
        var a = [Float](repeating: 0, count: batch * h)
        var s = [Float](repeating: 0, count: batch * c)
        fc1.value.withPointer { w1 in
            fc2.value.withPointer { w2 in
                for n in 0..<batch {
                    for k in 0..<h {
                        var acc: Float = 0
                        for j in 0..<c { acc += w1[k * c + j] * z[n * c + j] }
                        a[n * h + k] = max(acc, 0)
                    }
                    for j in 0..<c {
                        var acc: Float = 0
                        for k in 0..<h { acc += w2[j * h + k] * a[n * h + k] }
                        s[n * c + j] = sigmoid(acc)
                    }
                }
            }
        }
        return (z, a, s)
    }

    /// x + gates(x), broadcast over pixels; keeps what `backward` needs.
    func apply(_ x: Tensor) -> Tensor {
        let batch = x.rows, pixels = x.count / max(1, batch * channels)
        let r = x.withPointer { gates($0, batch: batch, pixels: pixels) }
        pooled = r.pooled; activated = r.hidden; gates = r.gates
        inputShape = x.shape
        var out = x
        out.withMutablePointer { addGates(r.gates, to: $0, batch: batch, pixels: pixels) }
        return out
    }

    /// `y += gates`, each sample's `channels` gates broadcast over its `pixels` rows (shared
    /// with folded inference, so both paths shift with the same Float additions).
    public func addGates(_ gates: [Float], to y: UnsafeMutablePointer<Float>, batch: Int, pixels: Int) {
        let c = channels
        gates.withUnsafeBufferPointer { g in
            var row = y
            for n in 0..<batch {
                let gate = g.baseAddress! + n * c
                for _ in 0..<pixels {
                    for j in 0..<c { row[j] += gate[j] }
                    row += c
                }
            }
        }
    }

    /// Given the gradient with respect to x + gates(x), returns the gradient with respect
    /// to x and accumulates the weights' gradients.
    func backward(_ dShifted: Tensor) -> Tensor {
        let c = channels, h = hidden
        let batch = dShifted.rows, pixels = dShifted.count / max(1, batch * c)
        var dx = dShifted
        var du = [Float](repeating: 0, count: batch * c)
        dShifted.withPointer { g in
            for n in 0..<batch {
                for q in 0..<pixels { for j in 0..<c { du[n * c + j] += g[(n * pixels + q) * c + j] } }
            }
        }
        for i in 0..<du.count { du[i] *= gates[i] * (1 - gates[i]) }
        var dz = [Float](repeating: 0, count: batch * c)
        fc1.value.withPointer { w1 in
            fc2.value.withPointer { w2 in
                fc1.grad.withMutablePointer { g1 in
                    fc2.grad.withMutablePointer { g2 in
                        for n in 0..<batch {
                            var da = [Float](repeating: 0, count: h)
                            for j in 0..<c {
                                let d = du[n * c + j]
                                for k in 0..<h {
                                    g2[j * h + k] += d * activated[n * h + k]
                                    da[k] += d * w2[j * h + k]
                                }
                            }
                            for k in 0..<h where activated[n * h + k] > 0 {
                                for j in 0..<c {
                                    g1[k * c + j] += da[k] * pooled[n * c + j]
                                    dz[n * c + j] += da[k] * w1[k * c + j]
                                }
                            }
                        }
                    }
                }
            }
        }
        dx.withMutablePointer { p in
            for n in 0..<batch {
                for q in 0..<pixels {
                    for j in 0..<c { p[(n * pixels + q) * c + j] += dz[n * c + j] / Float(pixels) }
                }
            }
        }
        return dx
    }
}
