import BennTensor
import CBennOps

/// ReActNet's RPReLU per channel: `f(x) = x - γ + ζ` where `x > γ`, else `β·(x - γ) + ζ`,
/// with learnable shifts γ (stored as the added bias `-γ`, init 0), ζ (init 0) and slope β
/// (init 0.25, PyTorch's PReLU default). Channels are the last dimension.
public final class RPReLU: Layer, PointwiseEvaluation {
    public var needsInputGradient = true
    public let shiftIn: Parameter, slope: Parameter, shiftOut: Parameter
    private var centered = Tensor(shape: [0])

    public init(channels: Int, name: String) {
        shiftIn = Parameter(name: "\(name).shift_in", value: Tensor(shape: [channels]), decays: false)
        slope = Parameter(name: "\(name).slope", value: Tensor(shape: [channels], repeating: 0.25), decays: false)
        shiftOut = Parameter(name: "\(name).shift_out", value: Tensor(shape: [channels]), decays: false)
    }

    public var parameters: [Parameter] { [shiftIn, slope, shiftOut] }
    public func outputShape(for input: [Int]) -> [Int] { input }

    /// The evaluation forward pass on raw memory, shared by training and folded inference;
    /// `x` and `y` must not overlap.
    public func evaluate(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        let c = slope.value.count
        shiftIn.value.withPointer { b1 in
            slope.value.withPointer { a in
                shiftOut.value.withPointer { b2 in benn_rprelu(x, y, count / c, c, b1, a, b2) }
            }
        }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let c = slope.value.count, rows = x.count / c
        if training {
            centered = Tensor(uninitializedShape: x.shape)
            x.withPointer { px in
                shiftIn.value.withPointer { b1 in centered.withMutablePointer { benn_add_rows(px, $0, rows, c, b1) } }
            }
        }
        return evaluated(x)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let c = slope.value.count, rows = dy.count / c
        var dx = dy
        var gIn = [Float](repeating: 0, count: c), gSlope = gIn, gOut = gIn
        slope.value.withPointer { a in
            centered.withPointer { v in
                dx.withMutablePointer { g in
                    benn_rprelu_backward(v, g, rows, c, a, &gIn, &gSlope, &gOut)
                }
            }
        }
        for j in 0..<c {
            shiftIn.grad[j] += gIn[j]
            slope.grad[j] += gSlope[j]
            shiftOut.grad[j] += gOut[j]
        }
        return dx
    }
}
