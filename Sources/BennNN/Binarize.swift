import BennTensor
import CBennOps

/// The binarization rules shared by every binary layer.
public enum Binarize {
    /// sign with sign(0) = +1 (and -0.0 gives +1): the packed encoding sets a bit only
    /// for values below zero, so training and packed inference agree on every input.
    @inline(__always)
    public static func sign(_ x: Float) -> Float { x < 0 ? -1 : 1 }

    /// Straight-through estimator mask: the gradient passes where |x| <= 1 (inclusive,
    /// as in larq's `ste_sign`), and is zero elsewhere.
    @inline(__always)
    public static func steMask(_ x: Float) -> Float { abs(x) <= 1 ? 1 : 0 }

    /// Writes sign(src) into dst.
    public static func sign(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        benn_sign(src, dst, count)
    }
}

/// Binary activation: forward sign(x), backward the straight-through estimator.
public final class SignActivation: Layer {
    public var needsInputGradient = true
    private var input = Tensor(shape: [0])

    public init() {}

    public func outputShape(for input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { input = x }
        var y = Tensor(uninitializedShape: x.shape)
        x.withPointer { px in y.withMutablePointer { py in Binarize.sign(px, into: py, count: x.count) } }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = Tensor(uninitializedShape: dy.shape)
        let n = dy.count
        input.withPointer { px in
            dy.withPointer { pg in
                dx.withMutablePointer { pd in
                    benn_ste_backward(px, pg, pd, n)
                }
            }
        }
        return dx
    }
}
