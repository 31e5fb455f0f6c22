import BennTensor

/// XNOR-Net's activation scaling: `body(x)` (the sign activation and a binary layer)
/// multiplied by a scale taken from the real input `x`.
///
/// - Convolution bodies use XNOR-Net's spatial map `K`: `A = mean_c |x|` per input pixel,
///   box-filtered with the convolution's own window, stride and zero padding, so each output
///   pixel is scaled by the mean `|x|` of the patch it was computed from.
/// - Dense bodies use one scale per sample, `β_n = mean|x_n|` (the map of a single pixel).
public final class InputScaled: Layer {
    public var needsInputGradient = true
    public let body: [Layer]
    /// The box filter of the scale map: the body's convolution window, or nil for one scale
    /// per sample.
    public let window: ScaleWindow?
    private var input = Tensor(shape: [0])
    private var bodyOutput = Tensor(shape: [0])
    private var scales: [Float] = []

    /// The geometry of a convolution's window.
    public struct ScaleWindow: Equatable, Sendable {
        public var kernel: Int, stride: Int, pad: Int
    }

    init(body: [Layer]) {
        self.body = body
        window = body.lazy.compactMap { $0 as? Conv2D }.first.map { ScaleWindow(kernel: $0.kernel, stride: $0.stride, pad: $0.pad) }
    }

    public var parameters: [Parameter] { body.flatMap { $0.parameters } }
    public var buffers: [(name: String, tensor: Tensor)] { body.flatMap { $0.buffers } }
    public func setBuffer(_ name: String, _ tensor: Tensor) { for l in body { l.setBuffer(name, tensor) } }
    public func setTrainingProgress(epoch: Int, epochs: Int) {
        for l in body { l.setTrainingProgress(epoch: epoch, epochs: epochs) }
    }
    public func outputShape(for input: [Int]) -> [Int] { body.reduce(input) { $1.outputShape(for: $0) } }

    /// Where the scales come from for one input shape (without the batch dimension).
    struct Geometry {
        var height: Int, width: Int, channels: Int
        var kernel: Int, stride: Int, pad: Int
        var outHeight: Int { (height + 2 * pad - kernel) / stride + 1 }
        var outWidth: Int { (width + 2 * pad - kernel) / stride + 1 }
        /// Scales per sample: output pixels, or 1.
        var perSample: Int { outHeight * outWidth }
    }

    func geometry(for shape: [Int]) -> Geometry {
        if let window, shape.count == 3 {
            return Geometry(height: shape[0], width: shape[1], channels: shape[2],
                            kernel: window.kernel, stride: window.stride, pad: window.pad)
        }
        // One "pixel" holding every element, one window covering it.
        return Geometry(height: 1, width: 1, channels: shape.reduce(1, *), kernel: 1, stride: 1, pad: 0)
    }

    /// The scales of `batch` samples in `shape` (the layer's input shape without the batch
    /// dimension): `batch * perSample` values, sample-major then output pixel (shared with
    /// folded inference, so both paths compute them with the same Float operations).
    public func scales(_ x: UnsafePointer<Float>, batch: Int, shape: [Int]) -> [Float] {
        Self.scales(x, batch: batch, geometry(for: shape))
    }

    static func scales(_ x: UnsafePointer<Float>, batch: Int, _ g: Geometry) -> [Float] {
        let pixels = g.height * g.width, c = g.channels
        var out = [Float](repeating: 0, count: batch * g.perSample)
        var channelMean = [Float](repeating: 0, count: pixels)
        let area = Float(g.kernel * g.kernel)
        for n in 0..<batch {
            var row = x + n * pixels * c
            for q in 0..<pixels {
                var s: Float = 0
                for j in 0..<c { s += abs(row[j]) }
                channelMean[q] = s / Float(max(1, c))
                row += c
            }
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    var s: Float = 0
                    for ky in 0..<g.kernel {
                        let iy = oy * g.stride - g.pad + ky
                        guard iy >= 0 && iy < g.height else { continue }
                        for kx in 0..<g.kernel {
                            let ix = ox * g.stride - g.pad + kx
                            if ix >= 0 && ix < g.width { s += channelMean[iy * g.width + ix] }
                        }
                    }
                    out[n * g.perSample + oy * g.outWidth + ox] = s / area
                }
            }
        }
        return out
    }

    /// Multiplies each run of `perScale` values by its scale (rows of output channels).
    public static func scaleRows(_ y: UnsafeMutablePointer<Float>, _ scales: [Float], perScale: Int) {
        scales.withUnsafeBufferPointer { s in
            var row = y
            for b in s {
                for i in 0..<perScale { row[i] *= b }
                row += perScale
            }
        }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let batch = x.rows
        let k = x.withPointer { scales($0, batch: batch, shape: Array(x.shape.dropFirst())) }
        var h = x
        for l in body { h = l.forward(h, training: training) }
        if training { input = x; bodyOutput = h; scales = k }
        let per = h.count / max(1, k.count)
        h.withMutablePointer { InputScaled.scaleRows($0, k, perScale: per) }
        return h
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let g = geometry(for: Array(input.shape.dropFirst()))
        let batch = dy.rows, per = dy.count / max(1, scales.count)
        // dL/dK for each scale: the sum over the values it multiplied.
        var dScale = [Float](repeating: 0, count: scales.count)
        dy.withPointer { pg in
            bodyOutput.withPointer { ph in
                for s in 0..<scales.count { for i in 0..<per { dScale[s] += pg[s * per + i] * ph[s * per + i] } }
            }
        }
        var d = dy
        d.withMutablePointer { InputScaled.scaleRows($0, scales, perScale: per) }
        for l in body.reversed() { d = l.backward(d) }
        // Back through the box filter to each input pixel's channel mean, then through |x|.
        let pixels = g.height * g.width, c = g.channels
        let area = Float(g.kernel * g.kernel)
        var dMean = [Float](repeating: 0, count: pixels)
        d.withMutablePointer { pd in
            input.withPointer { px in
                for n in 0..<batch {
                    for q in 0..<pixels { dMean[q] = 0 }
                    for oy in 0..<g.outHeight {
                        for ox in 0..<g.outWidth {
                            let v = dScale[n * g.perSample + oy * g.outWidth + ox] / area
                            for ky in 0..<g.kernel {
                                let iy = oy * g.stride - g.pad + ky
                                guard iy >= 0 && iy < g.height else { continue }
                                for kx in 0..<g.kernel {
                                    let ix = ox * g.stride - g.pad + kx
                                    if ix >= 0 && ix < g.width { dMean[iy * g.width + ix] += v }
                                }
                            }
                        }
                    }
                    for q in 0..<pixels {
                        let k = dMean[q] / Float(max(1, c))
                        let base = (n * pixels + q) * c
                        for j in 0..<c { let v = px[base + j]; pd[base + j] += v > 0 ? k : (v < 0 ? -k : 0) }
                    }
                }
            }
        }
        return d
    }
}
