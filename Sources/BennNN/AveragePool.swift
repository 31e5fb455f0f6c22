import BennTensor

/// Non-overlapping average pooling (window = stride = `size`) on NHWC input; with
/// `global`, one average per channel over the whole image (output `[channels]`).
public final class AveragePool: Layer, StatelessInEvaluation {
    public var needsInputGradient = true
    public let size: Int
    public let global: Bool
    private var inputShape: [Int] = []

    public init(size: Int) { self.size = size; global = false }
    public init(global: Bool) { size = 0; self.global = global }

    public func outputShape(for input: [Int]) -> [Int] {
        global ? [input[2]] : [input[0] / size, input[1] / size, input[2]]
    }

    private func window(_ shape: [Int]) -> (kh: Int, kw: Int, oh: Int, ow: Int) {
        global ? (shape[1], shape[2], 1, 1) : (size, size, shape[1] / size, shape[2] / size)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { inputShape = x.shape }
        let n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
        let (kh, kw, oh, ow) = window(x.shape)
        var y = Tensor(shape: global ? [n, c] : [n, oh, ow, c])
        let inv = 1 / Float(kh * kw)
        x.withPointer { px in
            y.withMutablePointer { py in
                for b in 0..<n {
                    for i in 0..<oh {
                        for j in 0..<ow {
                            let out = py + ((b * oh + i) * ow + j) * c
                            for dy in 0..<kh {
                                for dx in 0..<kw {
                                    let src = px + ((b * h + i * kh + dy) * w + j * kw + dx) * c
                                    for k in 0..<c { out[k] += src[k] }
                                }
                            }
                            for k in 0..<c { out[k] *= inv }
                        }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let n = inputShape[0], h = inputShape[1], w = inputShape[2], c = inputShape[3]
        let (kh, kw, oh, ow) = window(inputShape)
        var dx = Tensor(shape: inputShape)
        let inv = 1 / Float(kh * kw)
        dy.withPointer { pg in
            dx.withMutablePointer { pd in
                for b in 0..<n {
                    for i in 0..<oh {
                        for j in 0..<ow {
                            let g = pg + ((b * oh + i) * ow + j) * c
                            for dyy in 0..<kh {
                                for dxx in 0..<kw {
                                    let dst = pd + ((b * h + i * kh + dyy) * w + j * kw + dxx) * c
                                    for k in 0..<c { dst[k] += g[k] * inv }
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
