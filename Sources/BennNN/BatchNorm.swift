import BennCore
import BennTensor
import CBennOps

/// Batch normalisation over every dimension but the last (channels).
///
/// Training uses the batch's statistics and updates running averages; evaluation uses
/// the running averages. Learnable scale (gamma) and shift (beta) per channel.
public final class BatchNorm: Layer, StatelessInEvaluation {
    public var needsInputGradient = true
    public let gamma: Parameter, beta: Parameter
    public private(set) var runningMean: Tensor
    public private(set) var runningVar: Tensor
    public let momentum: Float
    public let epsilon: Float
    let name: String

    private var normalized = Tensor(shape: [0])
    private var invStd: [Float] = []

    public init(channels: Int, momentum: Float = 0.9, epsilon: Float = 1e-5, name: String) {
        self.name = name
        self.momentum = momentum
        self.epsilon = epsilon
        gamma = Parameter(name: "\(name).gamma", value: Tensor(shape: [channels], repeating: 1), decays: false)
        beta = Parameter(name: "\(name).beta", value: Tensor(shape: [channels], repeating: 0), decays: false)
        runningMean = Tensor(shape: [channels], repeating: 0)
        runningVar = Tensor(shape: [channels], repeating: 1)
    }

    public var channels: Int { gamma.value.count }
    public var parameters: [Parameter] { [gamma, beta] }
    public var buffers: [(name: String, tensor: Tensor)] {
        [("\(name).running_mean", runningMean), ("\(name).running_var", runningVar)]
    }

    public func setBuffer(_ key: String, _ tensor: Tensor) {
        if key == "\(name).running_mean" { runningMean = tensor }
        if key == "\(name).running_var" { runningVar = tensor }
    }

    public func outputShape(for input: [Int]) -> [Int] { input }

    /// Per-channel sums of x and x² over rows, in Double, split over threads and combined
    /// in a fixed order.
    private func channelMoments(_ x: UnsafePointer<Float>, rows: Int, c: Int) -> ([Double], [Double]) {
        let parts = Parallelism.ranges(rows)
        var partial = [Double](repeating: 0, count: parts.count * 2 * c)
        partial.withUnsafeMutableBufferPointer { pb in
            let box = UnsafeSendableBox(pb.baseAddress!)
            Parallelism.forEachRange(rows) { part, range in
                let s = box.value + part * 2 * c, q = s + c
                benn_channel_moments(x + range.lowerBound * c, range.count, c, s, q)
            }
        }
        var sum = [Double](repeating: 0, count: c), sq = [Double](repeating: 0, count: c)
        for p in 0..<parts.count {
            for j in 0..<c {
                sum[j] += partial[p * 2 * c + j]
                sq[j] += partial[p * 2 * c + c + j]
            }
        }
        return (sum, sq)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let c = channels
        precondition(x.channels == c, "batch norm over \(c) channels got shape \(x.shape)")
        let rows = x.count / c
        var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
        if training {
            let (sum, sq) = x.withPointer { channelMoments($0, rows: rows, c: c) }
            invStd = [Float](repeating: 0, count: c)
            for j in 0..<c {
                let mean = sum[j] / Double(rows)
                let variance = max(0, sq[j] / Double(rows) - mean * mean)
                let unbiased = rows > 1 ? variance * Double(rows) / Double(rows - 1) : variance
                runningMean[j] = momentum * runningMean[j] + (1 - momentum) * Float(mean)
                runningVar[j] = momentum * runningVar[j] + (1 - momentum) * Float(unbiased)
                let inv = Float(1 / (variance + Double(epsilon)).squareRoot())
                invStd[j] = inv
                scale[j] = inv
                shift[j] = Float(-mean) * inv
            }
            // Keep x̂ for the backward pass, then apply gamma and beta.
            normalized = affine(x, scale: scale, shift: shift)
            for j in 0..<c {
                scale[j] = gamma.value[j]
                shift[j] = beta.value[j]
            }
            return affine(normalized, scale: scale, shift: shift)
        }
        for j in 0..<c {
            let inv = 1 / (runningVar[j] + epsilon).squareRoot()
            scale[j] = gamma.value[j] * inv
            shift[j] = beta.value[j] - runningMean[j] * gamma.value[j] * inv
        }
        return affine(x, scale: scale, shift: shift)
    }

    private func affine(_ x: Tensor, scale: [Float], shift: [Float]) -> Tensor {
        var y = Tensor(uninitializedShape: x.shape)
        let c = scale.count, rows = x.count / c
        x.withPointer { px in
            y.withMutablePointer { py in
                scale.withUnsafeBufferPointer { sc in
                    shift.withUnsafeBufferPointer { sh in
                        let box = UnsafeSendableBox((px, py, sc.baseAddress!, sh.baseAddress!))
                        Parallelism.forEachRange(rows) { _, range in
                            let (px, py, a, b) = box.value
                            let o = range.lowerBound * c
                            benn_affine_rows(px + o, py + o, range.count, c, a, b)
                        }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let c = channels, rows = dy.count / c
        // dgamma = Σ dy·x̂, dbeta = Σ dy (per channel, Double, fixed order).
        var dGamma = [Double](repeating: 0, count: c), dBeta = [Double](repeating: 0, count: c)
        dy.withPointer { g in
            normalized.withPointer { xh in
                benn_channel_grad_sums(g, xh, rows, c, &dBeta, &dGamma)
            }
        }
        for j in 0..<c {
            gamma.grad[j] += Float(dGamma[j])
            beta.grad[j] += Float(dBeta[j])
        }
        guard needsInputGradient else { return Tensor(shape: [0]) }
        // dx = gamma·invstd/M · (M·dy − dbeta − x̂·dgamma)
        var k1 = [Float](repeating: 0, count: c), k2 = [Float](repeating: 0, count: c), k3 = [Float](repeating: 0, count: c)
        let m = Float(rows)
        for j in 0..<c {
            let f = gamma.value[j] * invStd[j] / m
            k1[j] = f * m
            k2[j] = f * Float(dBeta[j])
            k3[j] = f * Float(dGamma[j])
        }
        var dx = Tensor(uninitializedShape: dy.shape)
        dy.withPointer { g in
            normalized.withPointer { xh in
                dx.withMutablePointer { d in
                    benn_bn_input_grad(g, xh, d, rows, c, k1, k2, k3)
                }
            }
        }
        return dx
    }
}
