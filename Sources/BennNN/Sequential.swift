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
        let root = SeededGenerator(seed: seed)
        var shape = description.inputShape
        var layers: [Layer] = []
        var shapes: [[Int]] = []
        var previousIsSign = false
        for (i, spec) in description.layers.enumerated() {
            var rng = root.split(UInt64(i))
            let name = "l\(i)"
            let layer: Layer
            switch spec {
            case let .dense(units, binaryWeights):
                guard units > 0 else { throw InvalidModel(description: "layer \(i): dense units must be positive, got \(units)") }
                layer = Dense(inputs: shape.reduce(1, *), outputs: units, binaryWeights: binaryWeights,
                              binaryInput: previousIsSign, name: "\(name).dense", rng: &rng)
            case let .conv(filters, kernel, stride, same, binaryWeights):
                guard shape.count == 3 else { throw InvalidModel(description: "layer \(i): convolution needs an [H, W, C] input, got \(shape)") }
                guard filters > 0, kernel > 0, stride > 0 else {
                    throw InvalidModel(description: "layer \(i): convolution filters, kernel and stride must be positive")
                }
                layer = Conv2D(inChannels: shape[2], outChannels: filters, kernel: kernel, stride: stride,
                               pad: same ? (kernel - 1) / 2 : 0, binaryWeights: binaryWeights,
                               binaryInput: previousIsSign, name: "\(name).conv", rng: &rng)
            case .batchNorm:
                layer = BatchNorm(channels: shape.last!, name: "\(name).bn")
            case let .maxPool(size):
                guard shape.count == 3, size > 0, shape[0] >= size, shape[1] >= size else {
                    throw InvalidModel(description: "layer \(i): max pool \(size) does not fit input \(shape)")
                }
                layer = MaxPool2D(size: size)
            case .flatten: layer = Flatten()
            case .sign: layer = SignActivation()
            case .relu: layer = ReLU()
            case .hardTanh: layer = HardTanh()
            case .prelu: layer = PReLU(channels: shape.last!, name: "\(name).prelu")
            }
            shape = layer.outputShape(for: shape)
            guard shape.allSatisfy({ $0 > 0 }) else {
                throw InvalidModel(description: "layer \(i) (\(spec)) produces an empty output \(shape)")
            }
            layers.append(layer)
            shapes.append(shape)
            previousIsSign = spec == .sign
        }
        guard shape.reduce(1, *) == description.classes else {
            throw InvalidModel(description: "model ends in shape \(shape), expected \(description.classes) class scores")
        }
        layers.first?.needsInputGradient = false
        self.layers = layers
        self.shapes = shapes
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
}
