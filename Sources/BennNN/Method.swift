/// A BNN training method and its options as a spec stores them (`method_options:`, and the
/// same form in JSON): how binary blocks binarize weights and activations, whether they carry
/// real-valued shortcuts (read through `architecture`), and the recipe parts (teacher, two
/// steps, pre-training) the trainer applies (read through BennTrain's `TrainingRecipe`).
/// See docs/methods.md.
public struct MethodSpec: Codable, Sendable, Equatable {
    public enum Name: String, Codable, Sendable, CaseIterable {
        case bnn, xnor, bireal, reactnet, sdbnn
    }
    public enum WeightGradient: String, Codable, Sendable, CaseIterable {
        /// XNOR-Net's full chain rule through the scale.
        case full
        /// Bi-Real's paper rule (straight-through times the scale).
        case magnitudeAware = "magnitude_aware"
        /// The scale treated as a constant.
        case straightThrough = "straight_through"
    }
    public enum ShiftKind: String, Codable, Sendable, CaseIterable {
        /// Per sample and channel, from a squeeze-and-excitation block.
        case se
        /// One learnable shift per channel.
        case `static`
    }
    public enum SurrogateKind: String, Codable, Sendable, CaseIterable {
        case ede, approxSign = "approx_sign", ste
    }
    /// xnor: where a binary block's batch norm sits.
    public enum BlockOrder: String, Codable, Sendable, CaseIterable {
        /// sign → binary layer → [pool] → batch norm, as every other method here.
        case bnn
        /// XNOR-Net's: batch norm → sign → binary layer → [pool], no batch norm after the
        /// layer, so α (and K) reach what follows: a residual sum or the logits.
        case xnor
    }
    /// sdbnn: a real-valued activation in each binary block.
    public enum BlockActivation: String, Codable, Sendable, CaseIterable {
        /// None: the block's output goes on as it is (the sign in front of the next binary
        /// layer is the only non-linearity, as in Bi-Real).
        case noActivation = "none"
        /// clamp(x, -1, 1) after the residual sum, the SD-BNN CIFAR code's (IR-Net's ResNets).
        case hardtanh
        /// A per-channel PReLU after the batch norm, before the residual sum: the SD-BNN
        /// ImageNet code's, which follows Bulat et al. (Real-to-Binary's strong baseline).
        case prelu
    }
    /// Where a ResNet model's real-valued shortcuts go.
    public enum ShortcutPlacement: String, Codable, Sendable, CaseIterable {
        /// Bi-Real's: one around every binary convolution.
        case perConv = "per_conv"
        /// The standard ResNet basic block's: one around each pair of binary convolutions.
        case perBlock = "per_block"
    }
    /// How a ResNet model's shortcut follows a stride-2 block.
    public enum Downsampling: String, Codable, Sendable, CaseIterable {
        /// A strided real 1x1 convolution + batch norm: the standard ResNet projection,
        /// which reads one input pixel in four.
        case strided
        /// 2x2 average pooling, then a real 1x1 convolution + batch norm: Bi-Real's and
        /// ReActNet's code, where every input pixel reaches the next stage's trunk.
        case averagePool = "avg_pool"
    }

    public var name: Name = .bnn
    /// xnor: `full` (default); bireal: `straight_through` (default, the public code's rule,
    /// which suits clip pre-training better than the paper's `magnitude_aware`; docs/methods.md).
    public var gradient: WeightGradient?
    /// xnor: scale each binary layer's output by the mean |input| of the sample.
    public var activationScaling: Bool = false
    /// xnor: mean-centre every binary convolution's latent weights over its input channels
    /// and clip them after every step, as XNOR-Net-PyTorch does before each binarization
    /// (nil: no).
    public var meanCenter: Bool?
    /// xnor: the block order (nil: `bnn`).
    public var blockOrder: BlockOrder?
    /// sdbnn: activation self-distribution kind.
    public var activationShift: ShiftKind = .se
    /// sdbnn: squeeze-and-excitation reduction (hidden width = channels / reduction).
    public var seReduction: Int = 16
    /// sdbnn: surrogate gradient of weights and activations. ApproxSign (default) is the SD-BNN
    /// ImageNet code's, trained with Adam as the standard recipe is; EDE is the CIFAR code's,
    /// whose temperature schedule is made for SGD and hundreds of epochs (docs/methods.md).
    public var surrogate: SurrogateKind = .approxSign
    /// sdbnn: surrogate gradient of the weights alone (nil: the same as `surrogate`). The
    /// SD-BNN ImageNet code pairs ApproxSign activations with the clipped straight-through
    /// gradient for weights (`ste`).
    public var weightSurrogate: SurrogateKind?
    /// nil: 0.1 on plain (VGG-like) models, 1e-3 on ResNets (the SD-BNN code's settings).
    public var edeMinimumTemperature: Float?
    public var edeMaximumTemperature: Float = 10
    /// sdbnn: the activation in each binary block (nil: `prelu` on ResNets, where it shapes
    /// what the shortcuts carry; `none` on plain models, where a sign follows every block).
    public var blockActivation: BlockActivation?
    /// reactnet, sdbnn: the distillation teacher, `train` (train the float twin first) or the
    /// path of a float-twin checkpoint. nil: `train` for reactnet; no distillation for sdbnn,
    /// whose ImageNet code distils (as ReActNet's does) but whose CIFAR code does not.
    public var teacher: String? = nil
    /// reactnet, sdbnn: epochs of the teacher when it is trained first (nil: the spec's epochs).
    public var teacherEpochs: Int?
    /// reactnet, sdbnn: binary activations with real weights first, then binary weights (nil:
    /// yes for reactnet; no for sdbnn, whose ImageNet code has the two steps and CIFAR code not).
    public var twoStep: Bool? = nil
    /// reactnet, sdbnn: epochs of the first step (nil: a fifth of the epochs, rounded down, at least
    /// 1): shorter than the authors' half, because only binary epochs win back what binarizing
    /// the weights costs, and short budgets have few of them (docs/methods.md).
    public var firstStepEpochs: Int?
    /// reactnet: whether the second step starts its own learning-rate schedule and a fresh
    /// optimizer, as the authors' two separate training runs do (nil: no, one schedule and
    /// one optimizer run through both steps, since with a few epochs per step a restart at the
    /// full rate on fresh binary weights undoes more than it regains; docs/methods.md).
    public var restartSchedule: Bool?
    /// reactnet: whether an ensemble member warm-started from the previous member runs the
    /// first step (real weights) again (nil: yes, as binary weights do not survive the fresh
    /// schedule's full rate). With `false` it trains binary weights throughout, continuing
    /// from weights that already went through the second step (docs/methods.md).
    public var repeatFirstStep: Bool?
    /// bireal: epochs of real-valued pre-training before the binary training, the paper's
    /// clip initialization: real weights, and `clip(x, -1, 1)` where the signs will be
    /// (nil: a fifth of the epochs, rounded down, at least 1, the same share as ReActNet's
    /// first step; 0 turns it off). How the default was chosen: docs/methods.md.
    public var pretrainEpochs: Int?
    /// Every method: keep the first layer's weights and the classifier real-valued, as the
    /// XNOR-Net, Bi-Real, ReActNet and SD-BNN authors do (nil: no, the benchmark model as
    /// defined, binary from the first layer's weights to the classifier). No effect on
    /// models whose ends are already real (`breal18`).
    public var realFirstLast: Bool?
    /// Every method, ResNet models only (`breal18`, `tinyres`): where the shortcuts go (nil:
    /// `per_conv` for bireal, reactnet and sdbnn, whose authors' ResNets have one around
    /// every binary convolution; `per_block` for bnn and xnor, the standard ResNet block
    /// that XNOR-Net's ResNet-18 and Bi-Real's baselines binarize). Plain models get
    /// shortcuts from the method alone (bireal, reactnet).
    public var resnetShortcut: ShortcutPlacement?
    /// Every method, ResNet models only: the shortcut of a stride-2 block (nil: `avg_pool`
    /// for bireal, as in its authors' ResNets, so every trunk pixel reaches the next stage;
    /// `strided`, the standard ResNet projection, for the others). docs/methods.md, breal18.
    public var resnetDownsample: Downsampling?
    /// Every method: the path of a float-twin checkpoint whose weights the model starts from
    /// (nil: the seed's random initialization). Bi-Real's paper initializes its binary
    /// network from a trained real-valued one; the twin's convolutions, dense layers and
    /// batch norms are copied in order, the method's own parameters keep their initial values.
    public var initFrom: String?

    public init(_ name: Name = .bnn) { self.name = name }

    // The stored options have two views: `architecture` (MethodArchitecture.swift), what the
    // network is, and BennTrain's `TrainingRecipe`, how it is trained. The shorthands below
    // are the architecture view's, kept for callers that hold a MethodSpec.

    /// Whether the first layer's weights and the classifier stay real-valued.
    public var keepsEndsReal: Bool { architecture.keepsEndsReal }

    /// Whether binary blocks put their batch norm in front of the sign (XNOR-Net's order).
    public var normalizesBeforeSign: Bool { architecture.normalizesBeforeSign }

    /// The real-valued layer after each binary block (`MethodArchitecture.activationAfterBlock`).
    public var activationAfterBlock: LayerSpec? { architecture.activationAfterBlock }

    /// The real-valued layer at the end of each binary block's branch.
    public var activationInBranch: LayerSpec? { architecture.activationInBranch }

    /// Whether binary blocks get real-valued shortcuts under this method.
    public var addsShortcuts: Bool { architecture.addsShortcuts }

    /// Where ResNet models put their shortcuts under this method.
    public var resnetShortcutPlacement: ShortcutPlacement { architecture.resnetShortcutPlacement }

    /// How ResNet models' shortcuts follow a stride.
    public var resnetDownsampling: Downsampling { architecture.resnetDownsampling }

    /// The weight quantizer of the method's binary layers.
    public var weightQuantizer: WeightQuantizer { architecture.weightQuantizer }

    /// The activation quantizer in front of a binary layer (`MethodArchitecture`).
    public func activationQuantizer(spatial: Bool) -> ActivationQuantizer {
        architecture.activationQuantizer(spatial: spatial)
    }

    /// Checks option values, naming the field.
    public func validate() throws -> String? {
        func outside(_ key: String, _ value: Int?) -> String? {
            value.flatMap { Self.optionRanges[key]!.problem($0) }.map { "method_options.\(key) \($0)" }
        }
        if let problem = outside("se_reduction", seReduction) { return problem }
        if let problem = Self.optionRanges["ede_max_temperature"]!.problem(edeMaximumTemperature) {
            return "method_options.ede_max_temperature \(problem)"
        }
        // In (0, ede_max_temperature], the minimum is in its own range too.
        if let lo = edeMinimumTemperature, !(lo > 0) || !(edeMaximumTemperature >= lo) {
            return "method_options.ede_min_temperature must be positive and at most ede_max_temperature"
        }
        if let problem = outside("teacher_epochs", teacherEpochs) ?? outside("first_step_epochs", firstStepEpochs)
            ?? outside("pretrain_epochs", pretrainEpochs) { return problem }
        if let g = gradient {
            if name == .xnor && g == .magnitudeAware { return "method_options.gradient for xnor is full or straight_through" }
            if name == .bireal && g == .full { return "method_options.gradient for bireal is magnitude_aware or straight_through" }
        }
        return nil
    }
}
