import BennTensor

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
                        for b in range {
                            for oy in 0..<oh {
                                for ox in 0..<ow {
                                    let out = ((b * oh + oy) * ow + ox) * c
                                    let first = ((b * h + oy * s) * w + ox * s) * c
                                    for j in 0..<c {
                                        py[out + j] = px[first + j]
                                        am?[out + j] = Int32(first + j)
                                    }
                                    for dy in 0..<s {
                                        for dx in 0..<s where dy != 0 || dx != 0 {
                                            let src = ((b * h + oy * s + dy) * w + ox * s + dx) * c
                                            for j in 0..<c where px[src + j] > py[out + j] {
                                                py[out + j] = px[src + j]
                                                am?[out + j] = Int32(src + j)
                                            }
                                        }
                                    }
                                }
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
