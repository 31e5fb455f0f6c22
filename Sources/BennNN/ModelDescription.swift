/// A network described as data: an input shape and a list of layers. Models are built
/// from descriptions (never hand-wired per model), saved with checkpoints and artifacts,
/// and compared for equality when a checkpoint is loaded.
public struct ModelDescription: Codable, Sendable, Equatable {
    public var name: String
    /// Input shape without the batch dimension, NHWC ([28, 28, 1] for Fashion-MNIST).
    public var inputShape: [Int]
    public var classes: Int
    public var layers: [LayerSpec]

    public init(name: String, inputShape: [Int], classes: Int, layers: [LayerSpec]) {
        self.name = name
        self.inputShape = inputShape
        self.classes = classes
        self.layers = layers
    }
}

/// One layer of a `ModelDescription`. A layer right after `.sign` receives ±1 inputs,
/// which makes its forward pass eligible for the packed binary kernels.
public enum LayerSpec: Codable, Sendable, Equatable {
    case dense(units: Int, binaryWeights: Bool)
    /// Square kernel; `same` padding pads (kernel - 1) / 2 on each side.
    case conv(filters: Int, kernel: Int, stride: Int, same: Bool, binaryWeights: Bool)
    case batchNorm
    case maxPool(size: Int)
    case flatten
    /// Binary activation: sign forward, straight-through estimator backward.
    case sign
    case relu
    case hardTanh
    case prelu
}

/// The fixed benchmark models of `benchmark-models.md` and their float twins.
public enum ModelZoo {
    public static let names = ["bmlp", "bcnn", "fmlp", "fcnn", "tinymlp", "tinycnn"]

    public struct UnknownModel: Error, CustomStringConvertible {
        public let name: String
        public var description: String {
            "unknown model '\(name)'; valid models: \(ModelZoo.names.joined(separator: ", "))"
        }
    }

    public static func description(named name: String, inputShape: [Int] = [28, 28, 1], classes: Int = 10) throws -> ModelDescription {
        let layers: [LayerSpec]
        switch name {
        case "bmlp": layers = mlp(hidden: [2048, 2048, 2048], binary: true, classes: classes)
        case "fmlp": layers = mlp(hidden: [2048, 2048, 2048], binary: false, classes: classes)
        case "bcnn": layers = cnn(binary: true, classes: classes, widths: (64, 128, 512))
        case "fcnn": layers = cnn(binary: false, classes: classes, widths: (64, 128, 512))
        // Small variants of the same shape for tests and quick demos.
        case "tinymlp": layers = mlp(hidden: [64, 64], binary: true, classes: classes)
        case "tinycnn": layers = cnn(binary: true, classes: classes, widths: (8, 16, 32))
        default: throw UnknownModel(name: name)
        }
        return ModelDescription(name: name, inputShape: inputShape, classes: classes, layers: layers)
    }

    /// flatten, then dense -> batch norm -> activation per hidden layer, then a dense
    /// classifier with batch norm. Binary: every dense has binary weights and all but the
    /// first see sign-binarized inputs; float: ReLU after each hidden batch norm.
    static func mlp(hidden: [Int], binary: Bool, classes: Int) -> [LayerSpec] {
        var l: [LayerSpec] = [.flatten]
        for units in hidden {
            l += [.dense(units: units, binaryWeights: binary), .batchNorm, binary ? .sign : .relu]
        }
        l += [.dense(units: classes, binaryWeights: binary), .batchNorm]
        return l
    }

    static func cnn(binary: Bool, classes: Int, widths: (Int, Int, Int)) -> [LayerSpec] {
        let act: LayerSpec = binary ? .sign : .relu
        func conv(_ f: Int) -> LayerSpec { .conv(filters: f, kernel: 3, stride: 1, same: true, binaryWeights: binary) }
        var l: [LayerSpec] = [conv(widths.0), .batchNorm, act,
                              conv(widths.0), .maxPool(size: 2), .batchNorm, act,
                              conv(widths.1), .batchNorm, act,
                              conv(widths.1), .maxPool(size: 2), .batchNorm]
        // The float twin applies ReLU before flattening; the binary model binarizes after.
        l += binary ? [.flatten, .sign] : [.relu, .flatten]
        l += [.dense(units: widths.2, binaryWeights: binary), .batchNorm, act,
              .dense(units: classes, binaryWeights: binary), .batchNorm]
        return l
    }
}
