import BennCore
import BennTensor
import CBennOps

/// Updates parameters from their gradients. After each step, latent weights with a
/// clip range are clipped (binary layers keep |W| <= 1).
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    func step(_ parameters: [Parameter])
    /// Named state tensors for checkpoints (moments, step count).
    func state(for parameters: [Parameter]) -> [(name: String, tensor: Tensor)]
    func loadState(_ state: [String: Tensor], for parameters: [Parameter]) throws
    /// Forgets all state, so the next step is a newly created optimizer's first.
    func reset()
}

public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
}

/// Per-parameter optimizer memory (moments, velocity), allocated once and updated in
/// place; plain buffers so no copy-on-write can sneak into the hot loop.
final class SlotBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: count)
        pointer.initialize(repeating: 0, count: count)
    }
    convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }
    deinit { pointer.deallocate() }
    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// Adam (Kingma & Ba), with optional decoupled weight decay (AdamW).
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public private(set) var stepCount = 0
    private var m: [ObjectIdentifier: SlotBuffer] = [:]
    private var v: [ObjectIdentifier: SlotBuffer] = [:]

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-7, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter]) {
        stepCount += 1
        let t = Float(stepCount)
        // Bias correction folded into the step size, as in the paper's efficient form.
        let lrT = learningRate * (1 - powf(beta2, t)).squareRoot() / (1 - powf(beta1, t))
        let epsHat = epsilon * (1 - powf(beta2, t)).squareRoot()
        let (b1, b2) = (beta1, beta2)
        for p in parameters {
            let id = ObjectIdentifier(p)
            let n = p.value.count
            let mp = m[id] ?? SlotBuffer(count: n), vp = v[id] ?? SlotBuffer(count: n)
            m[id] = mp
            v[id] = vp
            let decay = p.decays ? learningRate * weightDecay : 0
            let low = p.clipRange?.lowerBound ?? -.infinity, high = p.clipRange?.upperBound ?? .infinity
            p.grad.withPointer { g in
                p.value.withMutablePointer { w in
                    let box = UnsafeSendableBox((mp.pointer, vp.pointer, g, w))
                    Parallelism.forEachRange(n, threads: n > 65536 ? Parallelism.threads : 1) { _, range in
                        let (mp, vp, g, w) = box.value
                        Adam.update(m: mp, v: vp, g: g, w: w, range: range, beta1: b1, beta2: b2,
                                    lrT: lrT, epsHat: epsHat, decay: decay, low: low, high: high)
                    }
                }
            }
            p.knownInsideClipRange = p.clipRange != nil
        }
    }

    /// The element-wise update lives in C (CBennOps) so it is vectorised for the CPU.
    static func update(m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                       g: UnsafePointer<Float>, w: UnsafeMutablePointer<Float>, range: Range<Int>,
                       beta1: Float, beta2: Float, lrT: Float, epsHat: Float, decay: Float,
                       low: Float, high: Float) {
        let o = range.lowerBound
        benn_adam_update(m + o, v + o, g + o, w + o, range.count, beta1, beta2, lrT, epsHat, decay, low, high)
    }

    public func reset() {
        stepCount = 0
        m = [:]
        v = [:]
    }

    public func state(for parameters: [Parameter]) -> [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = [("adam.step", Tensor(shape: [1], storage: [Float(stepCount)]))]
        for p in parameters {
            let id = ObjectIdentifier(p)
            let zeros = [Float](repeating: 0, count: p.value.count)
            out.append(("adam.m.\(p.name)", Tensor(shape: p.value.shape, storage: m[id]?.array ?? zeros)))
            out.append(("adam.v.\(p.name)", Tensor(shape: p.value.shape, storage: v[id]?.array ?? zeros)))
        }
        return out
    }

    public func loadState(_ state: [String: Tensor], for parameters: [Parameter]) throws {
        guard let s = state["adam.step"] else { throw OptimizerStateError(description: "checkpoint has no Adam state (adam.step missing)") }
        stepCount = Int(s[0])
        for p in parameters {
            guard let mt = state["adam.m.\(p.name)"], let vt = state["adam.v.\(p.name)"],
                  mt.count == p.value.count, vt.count == p.value.count else {
                throw OptimizerStateError(description: "checkpoint Adam state missing or mis-sized for \(p.name)")
            }
            m[ObjectIdentifier(p)] = SlotBuffer(mt.storage)
            v[ObjectIdentifier(p)] = SlotBuffer(vt.storage)
        }
    }
}

/// SGD with (optionally Nesterov) momentum and optional decoupled weight decay.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    private var velocity: [ObjectIdentifier: [Float]] = [:]

    public init(learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func step(_ parameters: [Parameter]) {
        for p in parameters {
            let id = ObjectIdentifier(p)
            let n = p.value.count
            if velocity[id] == nil { velocity[id] = [Float](repeating: 0, count: n) }
            let wd = p.decays ? weightDecay : 0
            let (lr, mu, nest, clip) = (learningRate, momentum, nesterov, p.clipRange)
            velocity[id]!.withUnsafeMutableBufferPointer { vb in
                p.grad.withPointer { g in
                    p.value.withMutablePointer { w in
                        for i in 0..<n {
                            let gi = g[i] + wd * w[i]
                            let vi = mu * vb[i] + gi
                            vb[i] = vi
                            var wi = w[i] - lr * (nest ? gi + mu * vi : vi)
                            if let c = clip { wi = min(max(wi, c.lowerBound), c.upperBound) }
                            w[i] = wi
                        }
                    }
                }
            }
            p.knownInsideClipRange = clip != nil
        }
    }

    public func reset() { velocity = [:] }

    public func state(for parameters: [Parameter]) -> [(name: String, tensor: Tensor)] {
        parameters.map { p in
            ("sgd.v.\(p.name)", Tensor(shape: p.value.shape,
                                        storage: velocity[ObjectIdentifier(p)] ?? [Float](repeating: 0, count: p.value.count)))
        }
    }

    public func loadState(_ state: [String: Tensor], for parameters: [Parameter]) throws {
        for p in parameters {
            guard let t = state["sgd.v.\(p.name)"], t.count == p.value.count else {
                throw OptimizerStateError(description: "checkpoint SGD state missing or mis-sized for \(p.name)")
            }
            velocity[ObjectIdentifier(p)] = t.storage
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
