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

/// One layer of a `ModelDescription`. A layer right after `.sign` (or `.activation`)
/// receives ±1 inputs, which makes its forward pass eligible for the packed binary kernels.
public indirect enum LayerSpec: Codable, Sendable, Equatable {
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
    /// A dense layer whose weights a method binarizes (`WeightQuantizer`).
    case binaryDense(units: Int, weights: WeightQuantizer)
    /// A convolution whose weights a method binarizes.
    case binaryConv(filters: Int, kernel: Int, stride: Int, same: Bool, weights: WeightQuantizer)
    /// A binary activation with a method's shift and surrogate gradient.
    case activation(ActivationQuantizer)
    /// ReActNet's RPReLU.
    case rprelu
    /// Average pooling with window and stride `size`.
    case averagePool(size: Int)
    /// Average pooling with window and stride `size` that gives a trailing row or column
    /// short of a window one of its own (output `ceil(H / size)`).
    case averagePoolCoveringEdges(size: Int)
    /// One average per channel over the whole image.
    case globalAveragePool
    /// `body(x) + shortcut(x)`; an empty shortcut is the identity.
    case residual(body: [LayerSpec], shortcut: [LayerSpec])
    /// `body(x) · mean|x|` per sample: XNOR-Net's activation scaling around sign + binary layer.
    case inputScaled(body: [LayerSpec])

    /// Whether the layer's output is ±1.
    var isSign: Bool {
        switch self {
        case .sign, .activation: return true
        default: return false
        }
    }
}

/// The fixed benchmark models (`bmlp`, `bcnn`, defined here), their float twins, `breal18`
/// (docs/methods.md) and the tiny test models.
public enum ModelZoo {
    public static let names = ["bmlp", "bcnn", "fmlp", "fcnn", "breal18", "freal18", "tinymlp", "tinycnn", "tinyres"]

    public struct UnknownModel: Error, CustomStringConvertible {
        public let name: String
        public var description: String {
            "unknown model '\(name)'; valid models: \(ModelZoo.names.joined(separator: ", "))"
        }
    }

    public struct MethodMismatch: Error, CustomStringConvertible {
        public let description: String
    }

    /// Whether the model is a real-valued twin (no binary layers, no method applies).
    public static func isFloat(_ name: String) -> Bool { ["fmlp", "fcnn", "freal18"].contains(name) }

    /// Whether the model is a ResNet (where `resnet_shortcut` places the shortcuts).
    public static func isResNet(_ name: String) -> Bool { ["breal18", "freal18", "tinyres"].contains(name) }

    /// The float twin of a binary model (the ReActNet teacher).
    public static func floatTwin(of name: String) -> String? {
        switch name {
        case "bmlp", "tinymlp": return "fmlp"
        case "bcnn", "tinycnn": return "fcnn"
        case "breal18", "tinyres": return "freal18"
        default: return nil
        }
    }

    public static func description(named name: String, method: MethodSpec = MethodSpec(),
                                   inputShape: [Int] = [28, 28, 1], classes: Int = 10) throws -> ModelDescription {
        if isFloat(name) && method.name != .bnn {
            throw MethodMismatch(description: "method '\(method.name.rawValue)' needs a binary model; '\(name)' is a float twin")
        }
        let method = method.architecture(for: name)
        let layers: [LayerSpec]
        switch name {
        case "bmlp": layers = mlp(hidden: [2048, 2048, 2048], binary: true, classes: classes, method: method)
        case "fmlp": layers = mlp(hidden: [2048, 2048, 2048], binary: false, classes: classes, method: method)
        case "bcnn": layers = cnn(binary: true, classes: classes, widths: (64, 128, 512), method: method)
        case "fcnn": layers = cnn(binary: false, classes: classes, widths: (64, 128, 512), method: method)
        case "breal18": layers = resnet(input: inputShape, widths: [16, 32, 64, 128], blocksPerStage: 4, binary: true, classes: classes, method: method)
        case "freal18": layers = resnet(input: inputShape, widths: [16, 32, 64, 128], blocksPerStage: 4, binary: false, classes: classes, method: method)
        // Small variants of the same shape for tests and quick demos.
        case "tinymlp": layers = mlp(hidden: [64, 64], binary: true, classes: classes, method: method)
        case "tinycnn": layers = cnn(binary: true, classes: classes, widths: (8, 16, 32), method: method)
        case "tinyres": layers = resnet(input: inputShape, widths: [8, 16], blocksPerStage: 2, binary: true, classes: classes, method: method)
        default: throw UnknownModel(name: name)
        }
        var d = ModelDescription(name: name, inputShape: inputShape, classes: classes, layers: layers)
        if method.name != .bnn { d.name = "\(name)-\(method.name.rawValue)" }
        return d
    }

    /// A binary block: the method's activation, the binary layer, optional max pooling and a
    /// batch norm; with shortcuts, wrapped in a residual whose shortcut matches the shape;
    /// then the method's activation after blocks, if any (ReActNet's RPReLU). A method's
    /// activation in the branch ends the body.
    static func block(_ layer: LayerSpec, pool: Int, stride: Int = 1, input: [Int], output: [Int], method: MethodArchitecture,
                      residual: Bool) -> [LayerSpec] {
        var body: [LayerSpec] = []
        let q = method.activationQuantizer(spatial: input.count == 3)
        body.append(q == .sign ? .sign : .activation(q))
        body.append(layer)
        if method.scalesByInput { body = [.inputScaled(body: body)] }
        if pool > 1 { body.append(.maxPool(size: pool)) }
        if method.normalizesBeforeSign { body.insert(.batchNorm, at: 0) } else { body.append(.batchNorm) }
        if let inBranch = method.activationInBranch { body.append(inBranch) }
        var out = body
        if residual && input.count == 3 && output.count == 3 {
            out = [.residual(body: body, shortcut: shortcut(pool: pool, stride: stride, input: input, output: output,
                                                            downsampling: method.resnetDownsampling))]
        }
        if let after = method.activationAfterBlock { out.append(after) }
        return out
    }

    /// The real path from a block's input to its output shape: identity, average pooling
    /// where the body pools, and a real 1x1 convolution with batch norm where the width or
    /// the stride changes. A stride either goes on the 1x1 convolution, or, with
    /// `downsampling` `.averagePool`, to an average pool in front of it (Bi-Real's
    /// downsampling shortcut: every input pixel reaches the output).
    static func shortcut(pool: Int, stride: Int, input: [Int], output: [Int],
                         downsampling: MethodSpec.Downsampling) -> [LayerSpec] {
        var path: [LayerSpec] = []
        if pool > 1 { path.append(.averagePool(size: pool)) }
        var convStride = stride
        if stride > 1 && downsampling == .averagePool {
            path.append(.averagePoolCoveringEdges(size: stride))
            convStride = 1
        }
        if output[2] != input[2] || stride > 1 {
            path += [.conv(filters: output[2], kernel: 1, stride: convStride, same: false, binaryWeights: false), .batchNorm]
        }
        return path
    }

    static func binaryConv(_ filters: Int, stride: Int = 1, _ method: MethodArchitecture) -> LayerSpec {
        let q = method.weightQuantizer
        return q == .sign ? .conv(filters: filters, kernel: 3, stride: stride, same: true, binaryWeights: true)
                          : .binaryConv(filters: filters, kernel: 3, stride: stride, same: true, weights: q)
    }

    static func binaryDense(_ units: Int, _ method: MethodArchitecture) -> LayerSpec {
        let q = method.weightQuantizer
        return q == .sign ? .dense(units: units, binaryWeights: true) : .binaryDense(units: units, weights: q)
    }

    /// flatten, then dense -> batch norm -> activation per hidden layer, then a dense
    /// classifier with batch norm. Binary: every dense has binary weights and all but the
    /// first see sign-binarized inputs; float: ReLU after each hidden batch norm.
    static func mlp(hidden: [Int], binary: Bool, classes: Int, method: MethodArchitecture) -> [LayerSpec] {
        var l: [LayerSpec] = [.flatten]
        guard binary else {
            for units in hidden { l += [.dense(units: units, binaryWeights: false), .batchNorm, .relu] }
            return l + [.dense(units: classes, binaryWeights: false), .batchNorm]
        }
        // The first layer sees real pixels: binary weights (unless the method keeps the ends
        // real), no activation in front.
        l += [.dense(units: hidden[0], binaryWeights: !method.keepsEndsReal), .batchNorm]
        for units in hidden.dropFirst() {
            l += block(binaryDense(units, method), pool: 1, input: [0], output: [units], method: method, residual: false)
        }
        return l + classifier(classes, method)
    }

    static func cnn(binary: Bool, classes: Int, widths: (Int, Int, Int), method: MethodArchitecture) -> [LayerSpec] {
        guard binary else {
            func conv(_ f: Int) -> LayerSpec { .conv(filters: f, kernel: 3, stride: 1, same: true, binaryWeights: false) }
            return [conv(widths.0), .batchNorm, .relu,
                    conv(widths.0), .maxPool(size: 2), .batchNorm, .relu,
                    conv(widths.1), .batchNorm, .relu,
                    conv(widths.1), .maxPool(size: 2), .batchNorm, .relu, .flatten,
                    .dense(units: widths.2, binaryWeights: false), .batchNorm, .relu,
                    .dense(units: classes, binaryWeights: false), .batchNorm]
        }
        let shortcuts = method.addsShortcuts
        // The first layer sees real pixels: binary weights (unless the method keeps the ends
        // real), no activation in front.
        var l: [LayerSpec] = [.conv(filters: widths.0, kernel: 3, stride: 1, same: true, binaryWeights: !method.keepsEndsReal),
                              .batchNorm]
        l += block(binaryConv(widths.0, method), pool: 2, input: [28, 28, widths.0], output: [14, 14, widths.0],
                   method: method, residual: shortcuts)
        l += block(binaryConv(widths.1, method), pool: 1, input: [14, 14, widths.0], output: [14, 14, widths.1],
                   method: method, residual: shortcuts)
        l += block(binaryConv(widths.1, method), pool: 2, input: [14, 14, widths.1], output: [7, 7, widths.1],
                   method: method, residual: shortcuts)
        l.append(.flatten)
        l += block(binaryDense(widths.2, method), pool: 1, input: [0], output: [widths.2], method: method, residual: false)
        return l + classifier(classes, method)
    }

    /// The last layer of the plain models: a binary block, or with `real_first_last` a real
    /// dense layer on the previous block's real output (after its batch norm, or ReActNet's
    /// RPReLU), as the methods' authors keep their classifiers. No activation follows the
    /// logits.
    static func classifier(_ classes: Int, _ method: MethodArchitecture) -> [LayerSpec] {
        if method.keepsEndsReal { return [.dense(units: classes, binaryWeights: false), .batchNorm] }
        var l = block(binaryDense(classes, method), pool: 1, input: [0], output: [classes], method: method, residual: false)
        if method.activationAfterBlock != nil || method.activationInBranch != nil { l.removeLast() }
        return l
    }

    /// `breal18`: a Bi-Real-18-style ResNet for 28x28 inputs (see docs/methods.md): a real
    /// 3x3 stem, `blocksPerStage` binary 3x3 blocks per stage (stride 2 and a strided 1x1
    /// real shortcut at each new stage), global average pooling and a real classifier. The
    /// binary shortcuts go where the method's `resnetShortcutPlacement` says: around every
    /// binary convolution, or around each pair of them as in the standard ResNet block. The
    /// float twin has a shortcut around every convolution, ReLU after every block.
    static func resnet(input: [Int], widths: [Int], blocksPerStage: Int, binary: Bool, classes: Int, method: MethodArchitecture) -> [LayerSpec] {
        var l: [LayerSpec] = [.conv(filters: widths[0], kernel: 3, stride: 1, same: true, binaryWeights: false), .batchNorm]
        var shape = [input[0], input[1], widths[0]]
        let pairs = binary && method.resnetShortcutPlacement == .perBlock
        precondition(!pairs || blocksPerStage % 2 == 0, "per_block shortcuts pair the binary convolutions of a stage")
        var pairInput = shape, pairStride = 1
        var pairBody: [LayerSpec] = []
        for (s, width) in widths.enumerated() {
            for b in 0..<blocksPerStage {
                let stride = s > 0 && b == 0 ? 2 : 1
                let side = (shape[0] + 2 - 3) / stride + 1
                let out = [side, side, width]
                if pairs {
                    if b % 2 == 0 { pairInput = shape; pairStride = stride; pairBody = [] }
                    pairBody += block(binaryConv(width, stride: stride, method), pool: 1, stride: stride, input: shape, output: out,
                                      method: method, residual: false)
                    if b % 2 == 1 {
                        l.append(.residual(body: pairBody, shortcut: shortcut(pool: 1, stride: pairStride, input: pairInput, output: out,
                                                                          downsampling: method.resnetDownsampling)))
                    }
                } else if binary {
                    l += block(binaryConv(width, stride: stride, method), pool: 1, stride: stride, input: shape, output: out,
                               method: method, residual: true)
                } else {
                    var shortcut: [LayerSpec] = []
                    if out != shape { shortcut = [.conv(filters: width, kernel: 1, stride: stride, same: false, binaryWeights: false), .batchNorm] }
                    l += [.residual(body: [.conv(filters: width, kernel: 3, stride: stride, same: true, binaryWeights: false), .batchNorm],
                                    shortcut: shortcut), .relu]
                }
                shape = out
            }
        }
        return l + [.globalAveragePool, .dense(units: classes, binaryWeights: false), .batchNorm]
    }
}
