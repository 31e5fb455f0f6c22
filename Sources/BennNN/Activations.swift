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
public final class HardTanh: Layer, PointwiseEvaluation {
    public var needsInputGradient = true
    private var input = Tensor(shape: [0])
    public init() {}
    public func outputShape(for input: [Int]) -> [Int] { input }

    public func evaluate(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = min(max(x[i], -1), 1) }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { input = x }
        return evaluated(x)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = dy
        let n = dx.count
        input.withPointer { px in dx.withMutablePointer { pd in for i in 0..<n where abs(px[i]) > 1 { pd[i] = 0 } } }
        return dx
    }
}

/// Per-channel PReLU: x for x > 0, a_c * x otherwise (channel = last dimension). It is
/// RPReLU with both shifts held at zero, so it runs on RPReLU's kernels.
public final class PReLU: Layer, PointwiseEvaluation {
    public var needsInputGradient = true
    public let slope: Parameter
    private var input = Tensor(shape: [0])
    private let zeroShifts: [Float]

    public init(channels: Int, initialSlope: Float = 0.25, name: String = "prelu") {
        slope = Parameter(name: "\(name).slope", value: Tensor(shape: [channels], repeating: initialSlope), decays: false)
        zeroShifts = [Float](repeating: 0, count: channels)
    }

    public var parameters: [Parameter] { [slope] }
    public func outputShape(for input: [Int]) -> [Int] { input }

    public func evaluate(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        let c = slope.value.count
        slope.value.withPointer { a in
            zeroShifts.withUnsafeBufferPointer { z in benn_rprelu(x, y, count / c, c, z.baseAddress!, a, z.baseAddress!) }
        }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { input = x }
        return evaluated(x)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let c = slope.value.count, rows = dy.count / c
        var dx = dy
        var gSlope = [Float](repeating: 0, count: c), unusedShiftGradients = gSlope, unusedOut = gSlope
        slope.value.withPointer { a in
            input.withPointer { v in
                dx.withMutablePointer { g in benn_rprelu_backward(v, g, rows, c, a, &unusedShiftGradients, &gSlope, &unusedOut) }
            }
        }
        for j in 0..<c { slope.grad[j] += gSlope[j] }
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
