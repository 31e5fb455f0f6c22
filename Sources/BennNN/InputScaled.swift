import BennTensor

/// XNOR-Net's activation scaling: `body(x) · β_n` with `β_n = mean|x_n|` over each
/// sample's elements, where `body` is the sign activation and binary layer. XNOR-Net scales
/// convolutions by a spatial map `K` (the box-filtered channel mean of |x|); one scale per
/// sample is the form that applies to dense and convolutional layers alike (docs/methods.md).
public final class InputScaled: Layer {
    public var needsInputGradient = true
    public let body: [Layer]
    private var input = Tensor(shape: [0])
    private var bodyOutput = Tensor(shape: [0])
    private var scales: [Float] = []

    init(body: [Layer]) { self.body = body }

    public var parameters: [Parameter] { body.flatMap { $0.parameters } }
    public var buffers: [(name: String, tensor: Tensor)] { body.flatMap { $0.buffers } }
    public func setBuffer(_ name: String, _ tensor: Tensor) { for l in body { l.setBuffer(name, tensor) } }
    public func setTrainingProgress(epoch: Int, epochs: Int) {
        for l in body { l.setTrainingProgress(epoch: epoch, epochs: epochs) }
    }
    public func outputShape(for input: [Int]) -> [Int] { body.reduce(input) { $1.outputShape(for: $0) } }

    /// `β_n = mean|x_n|` per sample (shared with folded inference).
    public static func scales(_ x: UnsafePointer<Float>, batch: Int, perSample: Int) -> [Float] {
        (0..<batch).map { n in
            var s: Float = 0
            for i in 0..<perSample { s += abs(x[n * perSample + i]) }
            return s / Float(max(1, perSample))
        }
    }

    /// Multiplies each sample's `perSample` values by its scale.
    public static func scaleRows(_ y: UnsafeMutablePointer<Float>, _ scales: [Float], perSample: Int) {
        for (n, b) in scales.enumerated() { for i in 0..<perSample { y[n * perSample + i] *= b } }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let batch = x.rows
        let beta = x.withPointer { InputScaled.scales($0, batch: batch, perSample: x.rowSize) }
        var h = x
        for l in body { h = l.forward(h, training: training) }
        if training { input = x; bodyOutput = h; scales = beta }
        let per = h.rowSize
        h.withMutablePointer { InputScaled.scaleRows($0, beta, perSample: per) }
        return h
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let batch = dy.rows, per = dy.rowSize
        var g = dy
        var dBeta = [Float](repeating: 0, count: batch)
        dy.withPointer { pg in
            bodyOutput.withPointer { ph in
                for n in 0..<batch { for i in 0..<per { dBeta[n] += pg[n * per + i] * ph[n * per + i] } }
            }
        }
        g.withMutablePointer { InputScaled.scaleRows($0, scales, perSample: per) }
        for l in body.reversed() { g = l.backward(g) }
        let m = input.rowSize
        g.withMutablePointer { pd in
            input.withPointer { px in
                for n in 0..<batch {
                    let k = dBeta[n] / Float(max(1, m))
                    for i in 0..<m { let v = px[n * m + i]; pd[n * m + i] += v > 0 ? k : (v < 0 ? -k : 0) }
                }
            }
        }
        return g
    }
}
