/// What a method's options make of the network: the quantizers of its binary layers and the
/// layers around them. `ModelZoo` builds models from this view alone; the options that shape
/// training instead (steps, pre-training, teacher) are BennTrain's `TrainingRecipe`.
///
/// Both are views of the one stored `MethodSpec`, whose `method_options` keys and JSON form
/// stay as they are.
public struct MethodArchitecture: Sendable, Equatable {
    public let name: MethodSpec.Name
    /// The options as stored, for the per-method defaults below.
    let options: MethodSpec
    /// sdbnn: EDE's final temperature, resolved for the model.
    public let edeMinimumTemperature: Float
    /// sdbnn: the activation in each binary block, resolved for the model.
    public let blockActivation: MethodSpec.BlockActivation

    /// The architecture `method` gives a model; `resNet` resolves the defaults that depend on
    /// the model (nil: a model-independent view, where those defaults are the plain models').
    public init(_ method: MethodSpec, resNet: Bool? = nil) {
        name = method.name
        options = method
        edeMinimumTemperature = method.edeMinimumTemperature ?? (resNet == true ? 1e-3 : 0.1)
        blockActivation = method.blockActivation ?? (resNet == true ? .prelu : .noActivation)
    }

    /// Whether the first layer's weights and the classifier stay real-valued.
    public var keepsEndsReal: Bool { options.realFirstLast ?? false }

    /// xnor: whether each binary layer's output is scaled by the sample's mean |input| (K).
    public var scalesByInput: Bool { name == .xnor && options.activationScaling }

    /// Whether binary blocks put their batch norm in front of the sign (XNOR-Net's order).
    public var normalizesBeforeSign: Bool { name == .xnor && options.blockOrder == .xnor }

    /// The real-valued layer after each binary block (after its residual sum, before the next
    /// block's sign): ReActNet's RPReLU, SD-BNN's optional hardtanh. The logits get none.
    public var activationAfterBlock: LayerSpec? {
        switch name {
        case .reactnet: return .rprelu
        case .sdbnn: return blockActivation == .hardtanh ? .hardTanh : nil
        case .bnn, .xnor, .bireal: return nil
        }
    }

    /// The real-valued layer at the end of each binary block's branch (after its batch norm,
    /// before the residual sum): SD-BNN's optional PReLU. The logits get none.
    public var activationInBranch: LayerSpec? {
        name == .sdbnn && blockActivation == .prelu ? .prelu : nil
    }

    /// Whether binary blocks get real-valued shortcuts under this method.
    public var addsShortcuts: Bool { name == .bireal || name == .reactnet }

    /// Where ResNet models put their shortcuts under this method.
    public var resnetShortcutPlacement: MethodSpec.ShortcutPlacement {
        options.resnetShortcut ?? (name == .bnn || name == .xnor ? .perBlock : .perConv)
    }

    /// How ResNet models' shortcuts follow a stride.
    public var resnetDownsampling: MethodSpec.Downsampling {
        options.resnetDownsample ?? (name == .bireal ? .averagePool : .strided)
    }

    var weightGradient: WeightQuantizer.Gradient {
        switch options.gradient ?? (name == .xnor ? .full : .straightThrough) {
        case .full: return .xnor
        case .magnitudeAware: return .magnitudeAware
        case .straightThrough: return .straightThrough
        }
    }

    /// The gradient rule an sdbnn surrogate choice names.
    func rule(_ kind: MethodSpec.SurrogateKind) -> Surrogate {
        switch kind {
        case .ede: return .ede(minimumTemperature: edeMinimumTemperature, maximumTemperature: options.edeMaximumTemperature)
        case .approxSign: return .approxSign
        case .ste: return .ste
        }
    }

    /// The weight quantizer of the method's binary layers.
    public var weightQuantizer: WeightQuantizer {
        switch name {
        case .bnn: return .sign
        case .xnor, .bireal, .reactnet: return WeightQuantizer(scale: .meanAbsolute, gradient: weightGradient)
        case .sdbnn: return WeightQuantizer(surrogate: rule(options.weightSurrogate ?? options.surrogate), selfDistribution: true)
        }
    }

    /// The activation quantizer in front of a binary layer; `spatial` tells whether the
    /// input is an image (SD-BNN's squeeze-and-excitation shift needs pixels to pool over).
    public func activationQuantizer(spatial: Bool) -> ActivationQuantizer {
        switch name {
        case .bnn, .xnor: return .sign
        case .bireal: return ActivationQuantizer(surrogate: .approxSign)
        case .reactnet: return ActivationQuantizer(surrogate: .approxSign, shift: .learnable)
        case .sdbnn:
            let shift: ActivationShift = options.activationShift == .se && spatial
                ? .selfDistribution(reduction: options.seReduction) : .selfDistributionStatic
            return ActivationQuantizer(surrogate: rule(options.surrogate), shift: shift)
        }
    }
}

extension MethodSpec {
    /// The options that shape the network, with no model's defaults resolved.
    public var architecture: MethodArchitecture { MethodArchitecture(self) }

    /// The options that shape the network of model `model` (`ModelZoo` name).
    public func architecture(for model: String) -> MethodArchitecture {
        MethodArchitecture(self, resNet: ModelZoo.isResNet(model))
    }
}
