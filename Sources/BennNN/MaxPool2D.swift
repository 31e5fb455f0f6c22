import BennCore
import BennTensor
import CBennOps

/// Max pooling over non-overlapping windows (size = stride) on NHWC tensors; rows or
/// columns that do not fill a window are dropped, as with "valid" pooling.
public final class MaxPool2D: Layer {
    public var needsInputGradient = true
    public let size: Int
    private var argmax: [Int32] = []
    private var inputShape: [Int] = []

    public init(size: Int = 2) { self.size = size }

    public func outputShape(for input: [Int]) -> [Int] { [input[0] / size, input[1] / size, input[2]] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = h / size, ow = w / size, s = size
        inputShape = x.shape
        var y = Tensor(uninitializedShape: [n, oh, ow, c])
        // Evaluation records no argmax: the buffer belongs to the last training batch.
        argmax = training ? [Int32](repeating: 0, count: y.count) : []
        x.withPointer { px in
            y.withMutablePointer { py in
                argmax.withUnsafeMutableBufferPointer { am in
                    let box = UnsafeSendableBox((px, py, training ? am.baseAddress : nil))
                    Parallelism.forEachRange(n) { _, range in
                        let (px, py, am) = box.value
                        let first = range.lowerBound
                        // Indices stay relative to the whole batch: offset the input, then
                        // correct argmax by the images skipped.
                        benn_maxpool_f32(px + first * h * w * c, range.count, h, w, c, s,
                                     py + first * oh * ow * c, am.map { $0 + first * oh * ow * c })
                        if let am {
                            let shift = Int32(first * h * w * c)
                            if shift != 0 {
                                for i in (first * oh * ow * c)..<(range.upperBound * oh * ow * c) { am[i] += shift }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = Tensor(shape: inputShape)
        let n = dy.count
        dy.withPointer { g in
            dx.withMutablePointer { d in
                argmax.withUnsafeBufferPointer { am in
                    for i in 0..<n { d[Int(am[i])] += g[i] }
                }
            }
        }
        return dx
    }
}
