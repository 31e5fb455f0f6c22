import BennTensor

/// Average pooling on NHWC input, window = stride = `size`; with `global`, one average per
/// channel over the whole image (output `[channels]`).
///
/// By default a trailing row or column that does not fill a window is dropped (output
/// `H / size`). With `coversEdges` it gets a window of its own, averaged over the pixels it
/// covers (output `ceil(H / size)`, PyTorch's `ceil_mode`): a ResNet's 7x7 stage then
/// pools to the 4x4 that its stride-2 padded convolution makes.
public final class AveragePool: Layer, StatelessInEvaluation {
    public var needsInputGradient = true
    public let size: Int
    public let global: Bool
    public let coversEdges: Bool
    private var inputShape: [Int] = []

    public init(size: Int, coversEdges: Bool = false) { self.size = size; global = false; self.coversEdges = coversEdges }
    public init(global: Bool) { size = 0; self.global = global; coversEdges = false }

    public func outputShape(for input: [Int]) -> [Int] {
        global ? [input[2]] : [outputSide(input[0]), outputSide(input[1]), input[2]]
    }

    private func outputSide(_ side: Int) -> Int { coversEdges ? (side + size - 1) / size : side / size }

    /// Window side and output side per axis; an edge window may be shorter than `step`.
    private func window(_ shape: [Int]) -> (step: (h: Int, w: Int), out: (h: Int, w: Int)) {
        if global { return (step: (h: shape[1], w: shape[2]), out: (h: 1, w: 1)) }
        return (step: (h: size, w: size), out: (h: outputSide(shape[1]), w: outputSide(shape[2])))
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { inputShape = x.shape }
        let n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
        let (step, out) = window(x.shape)
        var y = Tensor(shape: global ? [n, c] : [n, out.h, out.w, c])
        x.withPointer { px in
            y.withMutablePointer { py in
                for b in 0..<n {
                    for i in 0..<out.h {
                        let rows = i * step.h..<min(h, (i + 1) * step.h)
                        for j in 0..<out.w {
                            let cols = j * step.w..<min(w, (j + 1) * step.w)
                            let o = py + ((b * out.h + i) * out.w + j) * c
                            for r in rows {
                                for q in cols {
                                    let src = px + ((b * h + r) * w + q) * c
                                    for k in 0..<c { o[k] += src[k] }
                                }
                            }
                            let inv = 1 / Float(rows.count * cols.count)
                            for k in 0..<c { o[k] *= inv }
                        }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let n = inputShape[0], h = inputShape[1], w = inputShape[2], c = inputShape[3]
        let (step, out) = window(inputShape)
        var dx = Tensor(shape: inputShape)
        dy.withPointer { pg in
            dx.withMutablePointer { pd in
                for b in 0..<n {
                    for i in 0..<out.h {
                        let rows = i * step.h..<min(h, (i + 1) * step.h)
                        for j in 0..<out.w {
                            let cols = j * step.w..<min(w, (j + 1) * step.w)
                            let g = pg + ((b * out.h + i) * out.w + j) * c
                            let inv = 1 / Float(rows.count * cols.count)
                            for r in rows {
                                for q in cols {
                                    let d = pd + ((b * h + r) * w + q) * c
                                    for k in 0..<c { d[k] += g[k] * inv }
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
