import BennNN

extension MethodSpec {
    /// Whether training distils from the float twin instead of fitting the labels.
    public var distills: Bool { name == .reactnet || (name == .sdbnn && teacher != nil) }

    /// Where the teacher comes from when the method distils: `train` or a checkpoint path.
    public var teacherSource: String { teacher ?? "train" }

    /// Whether training runs real weights first, then binary weights.
    public var runsTwoSteps: Bool {
        switch name {
        case .reactnet: return twoStep ?? true
        case .sdbnn: return twoStep ?? false
        case .bnn, .xnor, .bireal: return false
        }
    }

    /// Whether training keeps binary convolutions' latent weights mean-centred.
    public var centersLatentWeights: Bool { name == .xnor && (meanCenter ?? false) }
}

/// The options of a spec that shape training rather than the network, with every per-method
/// default resolved against the spec's epochs: where the teacher comes from, how many
/// epochs run before the binary network trains, and what happens at the switch.
/// `schedule` turns them into what each epoch does.
public struct TrainingRecipe: Sendable, Equatable {
    public enum Teacher: Sendable, Equatable {
        /// Train the model's float twin first, with the spec's recipe and seed, for `epochs`.
        case train(epochs: Int)
        /// Load a float-twin checkpoint.
        case checkpoint(path: String)
    }

    /// The spec's epochs.
    public var epochs: Int
    /// The distillation teacher; nil when the loss is against the labels.
    public var teacher: Teacher?
    /// Bi-Real's clip pre-training: epochs with real weights and clipped activations (0: none).
    public var pretrainEpochs: Int
    /// The two-step recipe's first step: epochs with real weights and binary activations (0:
    /// one step).
    public var firstStepEpochs: Int
    /// Whether the second step starts a fresh learning-rate schedule and optimizer.
    public var restartsAtSecondStep: Bool
    /// Whether binary convolutions' latent weights are mean-centred after every step (xnor).
    public var centersLatentWeights: Bool

    public init(_ spec: TrainingSpec) {
        let method = spec.method, epochs = spec.train.epochs
        self.epochs = epochs
        if method.distills {
            teacher = method.teacherSource == "train"
                ? .train(epochs: method.teacherEpochs ?? epochs) : .checkpoint(path: method.teacherSource)
        } else {
            teacher = nil
        }
        // Epochs before the binary network trains: the spec's value, or a fifth of the epochs
        // (at least 1; docs/methods.md says why a fifth), and never all of them.
        func leadingRealEpochs(_ chosen: Int?) -> Int {
            guard epochs > 1 else { return 0 }
            return min(chosen ?? max(1, epochs / 5), epochs - 1)
        }
        firstStepEpochs = method.runsTwoSteps ? leadingRealEpochs(method.firstStepEpochs) : 0
        pretrainEpochs = method.name == .bireal ? leadingRealEpochs(method.pretrainEpochs) : 0
        restartsAtSecondStep = firstStepEpochs > 0 && method.restartSchedule == true
        centersLatentWeights = method.centersLatentWeights
    }

    public var distills: Bool { teacher != nil }

    public var schedule: RecipeSchedule { RecipeSchedule(self) }
}

/// What each epoch of a recipe does: which phase it is in, which parts of the binary layers
/// binarize, where the learning-rate schedule starts over, and whether the optimizer is reset.
/// The trainer asks it once per epoch instead of carrying the recipes' conditions itself.
public struct RecipeSchedule: Sendable, Equatable {
    public enum Phase: String, Sendable, Equatable {
        /// Bi-Real's clip pre-training: real weights, `clip(x, -1, 1)` where the signs will be.
        case clipPretraining = "clip_pretraining"
        /// A two-step recipe's first step: real weights, binary activations.
        case realWeights = "real_weights"
        /// The binary network: binary weights and activations.
        case binary
    }

    /// One epoch's plan.
    public struct Epoch: Sendable, Equatable {
        public var phase: Phase
        public var binarizesWeights: Bool
        public var binarizesActivations: Bool
        /// Whether the optimizer's state is dropped before this epoch's first step.
        public var resetsOptimizer: Bool
        /// The epochs one learning-rate schedule spans, this epoch among them: all of them,
        /// or with a restart, the current step's own.
        public var learningRateEpochs: Range<Int>
        /// Whether the loss is against the teacher's probabilities.
        public var distills: Bool
    }

    public let recipe: TrainingRecipe

    public init(_ recipe: TrainingRecipe) { self.recipe = recipe }

    public func phase(of epoch: Int) -> Phase {
        if epoch < recipe.pretrainEpochs { return .clipPretraining }
        if epoch < recipe.firstStepEpochs { return .realWeights }
        return .binary
    }

    /// The plan of epoch `epoch` (0-based).
    public func epoch(_ epoch: Int) -> Epoch {
        let phase = phase(of: epoch)
        let first = recipe.firstStepEpochs
        var span = 0..<recipe.epochs
        if recipe.restartsAtSecondStep { span = epoch < first ? 0..<first : first..<recipe.epochs }
        return Epoch(phase: phase, binarizesWeights: phase == .binary,
                     binarizesActivations: phase != .clipPretraining,
                     resetsOptimizer: recipe.restartsAtSecondStep && epoch == first,
                     learningRateEpochs: span, distills: recipe.distills)
    }

    /// The phases in order with their epochs (empty phases left out).
    public var phases: [(phase: Phase, epochs: Range<Int>)] {
        var out: [(phase: Phase, epochs: Range<Int>)] = []
        var start = 0
        for e in 0..<recipe.epochs {
            let p = phase(of: e)
            if p != out.last?.phase {
                if var last = out.popLast() { last.epochs = start..<e; out.append(last) }
                start = e
                out.append((p, e..<e))
            }
        }
        if var last = out.popLast() { last.epochs = start..<recipe.epochs; out.append(last) }
        return out
    }
}
