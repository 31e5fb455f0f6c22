import BennTensor
import CBennOps

/// max(0, x).
public final class ReLU: Layer, PointwiseEvaluation {
    public var needsInputGradient = true
    private var input = Tensor(shape: [0])
    public init() {}
    public func outputShape(for input: [Int]) -> [Int] { input }

    public func evaluate(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        benn_relu(x, y, count)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { input = x }
        var y = Tensor(uninitializedShape: x.shape)
        let n = y.count
        x.withPointer { px in y.withMutablePointer { benn_relu(px, $0, n) } }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = Tensor(uninitializedShape: dy.shape)
        let n = dx.count
        input.withPointer { px in dy.withPointer { g in dx.withMutablePointer { benn_relu_backward(px, g, $0, n) } } }
        return dx
    }
}

/// clamp(x, -1, 1); gradient 1 inside the interval (inclusive), 0 outside.
public final class HardTanh: Layer, StatelessInEvaluation {
    public var needsInputGradient = true
    private var input = Tensor(shape: [0])
    public init() {}
    public func outputShape(for input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { input = x }
        var y = x
        let n = y.count
        y.withMutablePointer { p in for i in 0..<n { p[i] = min(max(p[i], -1), 1) } }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = dy
        let n = dx.count
        input.withPointer { px in dx.withMutablePointer { pd in for i in 0..<n where abs(px[i]) > 1 { pd[i] = 0 } } }
        return dx
    }
}

/// Per-channel PReLU: x for x > 0, a_c * x otherwise (channel = last dimension).
public final class PReLU: Layer {
    public var needsInputGradient = true
    public let slope: Parameter
    private var input = Tensor(shape: [0])

    public init(channels: Int, initialSlope: Float = 0.25, name: String = "prelu") {
        slope = Parameter(name: "\(name).slope", value: Tensor(shape: [channels], repeating: initialSlope), decays: false)
    }

    public var parameters: [Parameter] { [slope] }
    public func outputShape(for input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { input = x }
        var y = x
        let c = slope.value.count, rows = x.count / c
        slope.value.withPointer { a in
            y.withMutablePointer { p in
                for r in 0..<rows {
                    let row = p + r * c
                    for j in 0..<c where row[j] <= 0 { row[j] *= a[j] }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = dy
        let c = slope.value.count, rows = dy.count / c
        slope.value.withPointer { a in
            input.withPointer { px in
                dy.withPointer { pg in
                    dx.withMutablePointer { pd in
                        slope.grad.withMutablePointer { ga in
                            for r in 0..<rows {
                                let o = r * c
                                for j in 0..<c where px[o + j] <= 0 {
                                    ga[j] += pg[o + j] * px[o + j]
                                    pd[o + j] = pg[o + j] * a[j]
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}

/// Collapses everything after the batch dimension.
public final class Flatten: Layer {
    public var needsInputGradient = true
    private var inputShape: [Int] = []
    public init() {}
    public func outputShape(for input: [Int]) -> [Int] { [input.reduce(1, *)] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        inputShape = x.shape
        return x.reshaped([x.rows, x.rowSize])
    }

    public func backward(_ dy: Tensor) -> Tensor { dy.reshaped(inputShape) }
}
