import BennTensor

/// `body(x) + shortcut(x)`: Bi-Real's real-valued shortcut around a binary convolution.
/// An empty shortcut is the identity; a downsampling one is e.g. average pool, 1x1 real
/// convolution and batch norm.
public final class Residual: Layer {
    public var needsInputGradient = true
    public let body: [Layer]
    public let shortcut: [Layer]

    init(body: [Layer], shortcut: [Layer]) {
        self.body = body
        self.shortcut = shortcut
    }

    public var parameters: [Parameter] { (body + shortcut).flatMap { $0.parameters } }
    public var buffers: [(name: String, tensor: Tensor)] { (body + shortcut).flatMap { $0.buffers } }
    public func setBuffer(_ name: String, _ tensor: Tensor) { for l in body + shortcut { l.setBuffer(name, tensor) } }
    public func setTrainingProgress(epoch: Int, epochs: Int) {
        for l in body + shortcut { l.setTrainingProgress(epoch: epoch, epochs: epochs) }
    }

    public func outputShape(for input: [Int]) -> [Int] {
        body.reduce(input) { $1.outputShape(for: $0) }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var h = x
        for l in body { h = l.forward(h, training: training) }
        var s = x
        for l in shortcut { s = l.forward(s, training: training) }
        precondition(h.count == s.count, "residual body \(h.shape) and shortcut \(s.shape) differ")
        let n = h.count
        h.withMutablePointer { ph in s.withPointer { ps in for i in 0..<n { ph[i] += ps[i] } } }
        return h
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var g = dy
        for l in body.reversed() { g = l.backward(g) }
        var gs = dy
        for l in shortcut.reversed() { gs = l.backward(gs) }
        let n = g.count
        g.withMutablePointer { pg in gs.withPointer { ps in for i in 0..<n { pg[i] += ps[i] } } }
        return g
    }
}
