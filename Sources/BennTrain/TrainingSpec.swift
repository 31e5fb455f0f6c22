import BennData
import BennNN

/// Everything that decides a training run's result: the model, data, recipe and seed.
/// A run is a pure function of its spec (and thread count), which is what lets a worker
/// reproduce an in-process run bit for bit.
public struct TrainingSpec: Codable, Sendable, Equatable {
    public var model: String = "bmlp"
    /// The BNN method binary layers are trained with (`bnn` unless the spec says otherwise).
    public var method = MethodSpec()
    public var seed: UInt64 = 0
    /// Compute threads; nil means all cores.
    public var threads: Int?
    public var data = DataSpec()
    public var train = RecipeSpec()
    public var ensemble = EnsembleSection()

    public init() {}

    /// How members of a Binary Ensemble Neural Network are built and combined.
    public struct EnsembleSection: Codable, Sendable, Equatable {
        public var strategy: Strategy = .single
        public var members: Int = 1
        public var aggregation: Aggregation = .softLogits
        public var boostingRule: BoostingRule = .samme
        /// Boosting: a fresh weighted resample each epoch (BENN's way) or the whole set
        /// with a per-sample weighted loss.
        public var sampling: Sampling = .resample
        /// Members from scratch, or each warm-started from the previous member's weights.
        public var start: Start = .independent
        public init() {}
    }

    public enum Strategy: String, Codable, Sendable, CaseIterable { case single, bagging, boosting }
    public enum Aggregation: String, Codable, Sendable, CaseIterable {
        /// Weighted majority of the members' predicted classes.
        case hard
        /// Weighted sum of the members' softmax probabilities.
        case softProbabilities = "soft_probabilities"
        /// Weighted sum of the members' raw outputs (BENN's "soft max vote").
        case softLogits = "soft_logits"
    }
    public enum BoostingRule: String, Codable, Sendable, CaseIterable {
        /// Canonical multi-class SAMME: α = ln((1-ε)/ε) + ln(C-1), misses × e^α.
        case samme
        /// BENN reference BoostA: α = ½ln((1-ε)/ε), two-sided exponential update.
        case adaboost
        /// BENN reference BoostB: α = ½ln((1-ε)/ε), logistic update.
        case logistic
        /// BENN reference BoostC: α = ½ln((1-ε)/ε), mild update.
        case mild
        /// BENN reference BoostD: α = 0.1·(ln((1-ε)/ε) + ln(C-1)), two-sided update.
        case sammeShrunk = "samme_shrunk"
    }
    public enum Sampling: String, Codable, Sendable, CaseIterable {
        case resample
        case weightedLoss = "weighted_loss"
    }
    public enum Start: String, Codable, Sendable, CaseIterable { case independent, sequential }

    public struct DataSpec: Codable, Sendable, Equatable {
        public var directory: String = "/usr/share/datasets/fashion-mnist"
        /// The layout of the files (`auto`: guessed from the directory's files).
        public var format: FormatChoice = .auto
        /// CIFAR-100: the fine (100) or coarse (20) labels.
        public var labels: CIFAR.Labels = .fine
        /// Training samples held out for validation (0: none).
        public var validation: Int = 0
        /// Random-crop padding in pixels (0: off).
        public var cropPadding: Int = 0
        public var flip: Bool = false
        /// Use only the first N training samples (0: all); for quick runs and tests.
        public var limit: Int = 0
        /// Use only the first N test samples (0: all).
        public var testLimit: Int = 0
        public init() {}

        /// A spec's `data.format`: one of the readers, or `auto`.
        public enum FormatChoice: String, Codable, Sendable, CaseIterable {
            case auto, idx, cifar10, cifar100, npz, npy
        }

        private enum CodingKeys: String, CodingKey {
            case directory, validation, cropPadding, flip, limit, testLimit, format, labels
        }

        // `format` and `labels` are written only when not their defaults, and read when
        // present: specs, checkpoints and artifacts from before they existed read the same and
        // an IDX spec encodes byte for byte as it did.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            directory = try c.decode(String.self, forKey: .directory)
            validation = try c.decode(Int.self, forKey: .validation)
            cropPadding = try c.decode(Int.self, forKey: .cropPadding)
            flip = try c.decode(Bool.self, forKey: .flip)
            limit = try c.decode(Int.self, forKey: .limit)
            testLimit = try c.decode(Int.self, forKey: .testLimit)
            format = try c.decodeIfPresent(FormatChoice.self, forKey: .format) ?? .auto
            labels = try c.decodeIfPresent(CIFAR.Labels.self, forKey: .labels) ?? .fine
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(directory, forKey: .directory)
            try c.encode(validation, forKey: .validation)
            try c.encode(cropPadding, forKey: .cropPadding)
            try c.encode(flip, forKey: .flip)
            try c.encode(limit, forKey: .limit)
            try c.encode(testLimit, forKey: .testLimit)
            if format != .auto { try c.encode(format, forKey: .format) }
            if labels != .fine { try c.encode(labels, forKey: .labels) }
        }
    }

    public struct RecipeSpec: Codable, Sendable, Equatable {
        public var epochs: Int = 1
        public var batchSize: Int = 128
        public var optimizer: OptimizerKind = .adam
        public var learningRate: Float = 1e-3
        public var momentum: Float = 0.9
        public var nesterov: Bool = false
        public var weightDecay: Float = 0
        public var schedule: ScheduleKind = .cosine
        /// For the step schedule: decay every this many epochs by `stepFactor`.
        public var stepEpochs: Int = 1
        public var stepFactor: Float = 0.1
        /// For the cosine schedule: the rate at the end of the run.
        public var minimumLearningRate: Float = 0
        public var labelSmoothing: Float = 0
        public init() {}
    }

    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case adam, sgd }
    public enum ScheduleKind: String, Codable, Sendable, CaseIterable { case constant, step, cosine }

    /// Checks values that parse but make no sense, naming the field. Every number is checked
    /// against its range in `schema` here, whatever the spec came from (a file, flags, a
    /// client's JSON).
    public func validate() throws {
        func bad(_ field: String, _ why: String) -> SpecError { SpecError(location: nil, message: "\(field) \(why)") }
        guard ModelZoo.names.contains(model) else {
            throw SpecError(location: nil, message: "unknown model '\(model)'; valid models: \(ModelZoo.names.joined(separator: ", "))")
        }
        if ModelZoo.isFloat(model) && method.name != .bnn {
            throw bad("method", "'\(method.name.rawValue)' needs a binary model; '\(model)' is a float twin")
        }
        if let problem = try method.validate() { throw SpecError(location: nil, message: problem) }
        // The schema's ranges, outside method_options (whose options `method.validate()`
        // checked with the method's own rules first).
        for field in Self.schema where !field.key.hasPrefix("method") {
            guard let range = field.range, let value = field.value(in: self) else { continue }
            let problem: String?
            switch value {
            case let .whole(v): problem = range.problem(v)
            case let .real(v): problem = range.problem(v)
            case .unsigned, .flag, .text: problem = nil
            }
            if let problem { throw bad(field.key, problem) }
        }
        // The cosine schedule falls to the floor: a floor above the start would make it rise.
        if train.minimumLearningRate > train.learningRate {
            throw bad("train.minimum_learning_rate", "must be at most train.learning_rate (\(train.learningRate)), got \(train.minimumLearningRate)")
        }
        if ensemble.strategy == .single && ensemble.members != 1 {
            throw bad("ensemble.members", "is \(ensemble.members) but the strategy is 'single'; choose bagging or boosting")
        }
    }
}

/// A problem in a spec, with the file, line and column where it was found.
public struct SpecError: Error, CustomStringConvertible {
    public var location: String?
    public var message: String
    public init(location: String?, message: String) {
        self.location = location
        self.message = message
    }
    public var description: String { location.map { "\($0): \(message)" } ?? message }
}

extension TrainingSpec {
    /// The network this spec trains: the model realised with the spec's method.
    public func modelDescription(inputShape: [Int] = [28, 28, 1], classes: Int = 10) throws -> ModelDescription {
        try ModelZoo.description(named: model, method: method, inputShape: inputShape, classes: classes)
    }
}
