import BennRandom
import BennTensor

/// A network built from a `ModelDescription`: layers applied in order.
public final class Sequential {
    public let description: ModelDescription
    public let layers: [Layer]
    /// Output shape of each layer (without batch), for reports and checks.
    public let shapes: [[Int]]

    public struct InvalidModel: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Builds the layers; every layer draws its initial weights from its own sub-stream
    /// of `seed`, so inserting a layer does not change the others' initialisation.
    public init(_ description: ModelDescription, seed: UInt64) throws {
        self.description = description
        let built = try Sequential.build(description.layers, input: description.inputShape,
                                         root: SeededGenerator(seed: seed), prefix: "l")
        let shape = built.shapes.last ?? description.inputShape
        guard shape.reduce(1, *) == description.classes else {
            throw InvalidModel(description: "model ends in shape \(shape), expected \(description.classes) class scores")
        }
        built.layers.first?.needsInputGradient = false
        self.layers = built.layers
        self.shapes = built.shapes
    }

    static func build(_ specs: [LayerSpec], input: [Int], root: SeededGenerator, prefix: String)
        throws -> (layers: [Layer], shapes: [[Int]]) {
        var shape = input
        var layers: [Layer] = []
        var shapes: [[Int]] = []
        var previousIsSign = false
        for (i, spec) in specs.enumerated() {
            var rng = root.split(UInt64(i))
            let name = "\(prefix)\(i)"
            let layer: Layer
            func convolution(_ filters: Int, _ kernel: Int, _ stride: Int, _ same: Bool, _ q: WeightQuantizer?) throws -> Layer {
                guard shape.count == 3 else { throw InvalidModel(description: "layer \(name): convolution needs an [H, W, C] input, got \(shape)") }
                guard filters > 0, kernel > 0, stride > 0 else {
                    throw InvalidModel(description: "layer \(name): convolution filters, kernel and stride must be positive")
                }
                return Conv2D(inChannels: shape[2], outChannels: filters, kernel: kernel, stride: stride,
                              pad: same ? (kernel - 1) / 2 : 0, quantizer: q,
                              binaryInput: previousIsSign, name: "\(name).conv", rng: &rng)
            }
            func dense(_ units: Int, _ q: WeightQuantizer?) throws -> Layer {
                guard units > 0 else { throw InvalidModel(description: "layer \(name): dense units must be positive, got \(units)") }
                return Dense(inputs: shape.reduce(1, *), outputs: units, quantizer: q,
                             binaryInput: previousIsSign, name: "\(name).dense", rng: &rng)
            }
            switch spec {
            case let .dense(units, binaryWeights): layer = try dense(units, binaryWeights ? .sign : nil)
            case let .binaryDense(units, q): layer = try dense(units, q)
            case let .conv(filters, kernel, stride, same, binaryWeights):
                layer = try convolution(filters, kernel, stride, same, binaryWeights ? .sign : nil)
            case let .binaryConv(filters, kernel, stride, same, q):
                layer = try convolution(filters, kernel, stride, same, q)
            case .batchNorm:
                layer = BatchNorm(channels: shape.last!, name: "\(name).bn")
            case let .maxPool(size):
                guard shape.count == 3, size > 0, shape[0] >= size, shape[1] >= size else {
                    throw InvalidModel(description: "layer \(name): max pool \(size) does not fit input \(shape)")
                }
                layer = MaxPool2D(size: size)
            case let .averagePool(size):
                guard shape.count == 3, size > 0, shape[0] >= size, shape[1] >= size else {
                    throw InvalidModel(description: "layer \(name): average pool \(size) does not fit input \(shape)")
                }
                layer = AveragePool(size: size)
            case let .averagePoolCoveringEdges(size):
                guard shape.count == 3, size > 0 else {
                    throw InvalidModel(description: "layer \(name): average pool \(size) needs [H, W, C], got \(shape)")
                }
                layer = AveragePool(size: size, coversEdges: true)
            case .globalAveragePool:
                guard shape.count == 3 else { throw InvalidModel(description: "layer \(name): global average pool needs [H, W, C], got \(shape)") }
                layer = AveragePool(global: true)
            case .flatten: layer = Flatten()
            case .sign: layer = SignActivation()
            case .activation(let q):
                layer = SignActivation(q, channels: shape.last!, name: "\(name).act", rng: &rng)
            case .relu: layer = ReLU()
            case .hardTanh: layer = HardTanh()
            case .prelu: layer = PReLU(channels: shape.last!, name: "\(name).prelu")
            case .rprelu: layer = RPReLU(channels: shape.last!, name: "\(name).rprelu")
            case let .residual(body, shortcut):
                let b = try build(body, input: shape, root: rng.split(1), prefix: "\(name).body")
                let s = try build(shortcut, input: shape, root: rng.split(2), prefix: "\(name).short")
                let out = b.shapes.last ?? shape, sOut = s.shapes.last ?? shape
                guard out == sOut else {
                    throw InvalidModel(description: "layer \(name): residual body gives \(out) but the shortcut gives \(sOut)")
                }
                layer = Residual(body: b.layers, shortcut: s.layers)
            case let .inputScaled(body):
                let b = try build(body, input: shape, root: rng.split(1), prefix: "\(name).body")
                layer = InputScaled(body: b.layers)
            }
            shape = layer.outputShape(for: shape)
            guard shape.allSatisfy({ $0 > 0 }) else {
                throw InvalidModel(description: "layer \(name) (\(spec)) produces an empty output \(shape)")
            }
            layers.append(layer)
            shapes.append(shape)
            previousIsSign = spec.isSign
        }
        return (layers, shapes)
    }

    public var parameters: [Parameter] { layers.flatMap { $0.parameters } }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Every tensor that defines the model's behaviour: parameters then buffers, by name.
    public var namedTensors: [(name: String, tensor: Tensor)] {
        parameters.map { ($0.name, $0.value) } + layers.flatMap { $0.buffers }
    }

    /// Replaces parameters and buffers by name; every one must be present with its shape.
    public func load(_ tensors: [String: Tensor]) throws {
        for p in parameters {
            guard let t = tensors[p.name] else { throw InvalidModel(description: "missing tensor \(p.name)") }
            guard t.shape == p.value.shape else {
                throw InvalidModel(description: "tensor \(p.name) has shape \(t.shape), model needs \(p.value.shape)")
            }
            p.value = t
        }
        for layer in layers {
            for (name, current) in layer.buffers {
                guard let t = tensors[name], t.shape == current.shape else {
                    throw InvalidModel(description: "missing or mis-shaped buffer \(name)")
                }
                layer.setBuffer(name, t)
            }
        }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var h = x
        for layer in layers { h = layer.forward(h, training: training) }
        return h.reshaped([x.rows, description.classes])
    }

    public func backward(_ dLogits: Tensor) {
        var g = dLogits.reshaped([dLogits.rows] + (shapes.last ?? [description.classes]))
        for layer in layers.reversed() { g = layer.backward(g) }
    }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Tells every layer which epoch starts (surrogate temperatures).
    public func setTrainingProgress(epoch: Int, epochs: Int) {
        for l in layers { l.setTrainingProgress(epoch: epoch, epochs: epochs) }
    }

    /// Every layer, nested ones (residual bodies and shortcuts) included, in order.
    public var allLayers: [Layer] {
        func walk(_ ls: [Layer]) -> [Layer] {
            ls.flatMap { l -> [Layer] in
                if let r = l as? Residual { return [l] + walk(r.body) + walk(r.shortcut) }
                if let s = l as? InputScaled { return [l] + walk(s.body) }
                return [l]
            }
        }
        return walk(layers)
    }

    /// Switches binary layers between real weights and binarized ones (two-step recipes).
    public func setWeightsBinarized(_ on: Bool) {
        for l in allLayers {
            (l as? Dense)?.weightsBinarized = on
            (l as? Conv2D)?.weightsBinarized = on
        }
    }

    /// Mean-centres the latent weights of every binary convolution over its input channels
    /// (XNOR-Net-PyTorch's constraint, `Conv2D.centerLatentWeightsOverInputChannels`).
    public func centerBinaryConvolutionWeights() {
        for l in allLayers { (l as? Conv2D)?.centerLatentWeightsOverInputChannels() }
    }

    /// Switches every binary activation between the sign and `clip(x, -1, 1)` (Bi-Real's
    /// real-valued pre-training).
    public func setActivationsBinarized(_ on: Bool) {
        for l in allLayers { (l as? SignActivation)?.activationsBinarized = on }
    }
}
