import BennNN

extension TrainingSpec {
    /// Every field a spec can set, declared once, in the order a spec file lists them. The
    /// parser, `--set`, the valid-key lists and "did you mean", `validate()`'s ranges, the
    /// keys reports and `compare` name fields by, and `benn check --schema` (the README's
    /// table) all read this list.
    ///
    /// Ranges are chosen so that no accepted spec makes a worker allocate without bound,
    /// wait forever or compute with infinities, while every recipe in the repository, its
    /// tests and its docs is well inside.
    public static let schema: [SpecField<TrainingSpec>] = [
        .text("model", \.model, "The network: \(ModelZoo.names.joined(separator: ", ")) (f-models are float twins)."),
        MethodSpec.nameField.lifted(\TrainingSpec.method),
    ] + MethodSpec.optionFields.map { $0.lifted(\TrainingSpec.method, prefix: "method_options") } + [
        .unsigned("seed", \.seed, "Seed of the initial weights, shuffles, hold-out and augmentation."),
        .whole("threads", \.threads, .whole(1...1024), "Compute threads (unset: all cores); results depend on it."),
        .text("data.directory", \.data.directory,
              "Directory with the data files (IDX, CIFAR-10/100 binary, .npy), or an .npz file."),
        .choice("data.format", \.data.format,
                "The files' layout; auto guesses it from the directory's files (IDX names, data_batch_1.bin, train.bin + test.bin, a .npz, x_train.npy)."),
        .choice("data.labels", \.data.labels, "CIFAR-100: the 100 fine labels or the 20 coarse ones."),
        .whole("data.validation", \.data.validation, .whole(0...100_000_000),
               "Training samples held out for validation (0: none); must leave at least one to train on."),
        .whole("data.crop_padding", \.data.cropPadding, .whole(0...64),
               "Random-crop padding in pixels (0: off); must be smaller than the images."),
        .flag("data.flip", \.data.flip, "Random horizontal flips."),
        .whole("data.limit", \.data.limit, .whole(0...100_000_000), "Use only the first N training samples (0: all)."),
        .whole("data.test_limit", \.data.testLimit, .whole(0...100_000_000), "Use only the first N test samples (0: all)."),
        .whole("train.epochs", \.train.epochs, .whole(1...10_000), "Epochs (per ensemble member)."),
        .whole("train.batch_size", \.train.batchSize, .whole(1...65_536, below: "must be positive"), "Samples per batch."),
        .choice("train.optimizer", \.train.optimizer, "The optimizer."),
        .real("train.learning_rate", \.train.learningRate, .real(0, 10, lowerIncluded: false, below: "must be positive"),
              "Base learning rate."),
        .real("train.momentum", \.train.momentum, .real(0, 1, upperIncluded: false), "SGD momentum."),
        .flag("train.nesterov", \.train.nesterov, "SGD with Nesterov momentum."),
        .real("train.weight_decay", \.train.weightDecay, .real(0, 1, below: "must not be negative"), "Weight decay (L2)."),
        .choice("train.schedule", \.train.schedule, "Learning-rate schedule, per step."),
        .whole("train.step_epochs", \.train.stepEpochs, .whole(1...10_000), "Step schedule: decay every this many epochs."),
        .real("train.step_factor", \.train.stepFactor, .real(0, 1, lowerIncluded: false), "Step schedule: the factor of each decay."),
        .real("train.minimum_learning_rate", \.train.minimumLearningRate, .real(0, 10, below: "must not be negative"),
              "Cosine schedule: the rate at the end; at most learning_rate."),
        .real("train.label_smoothing", \.train.labelSmoothing, .real(0, 1, upperIncluded: false), "Label smoothing of the loss."),
        .choice("ensemble.strategy", \.ensemble.strategy, "One model, or an ensemble by bagging or boosting."),
        .whole("ensemble.members", \.ensemble.members, .whole(1...1000), "Ensemble members (1 for single)."),
        .choice("ensemble.aggregation", \.ensemble.aggregation, "How members' outputs are combined, weighted by their alphas."),
        .choice("ensemble.boosting_rule", \.ensemble.boostingRule, "Boosting: the member weight and sample update (BENN's rules)."),
        .choice("ensemble.sampling", \.ensemble.sampling, "Boosting: a weighted resample each epoch, or a weighted loss."),
        .choice("ensemble.start", \.ensemble.start, "Members from scratch, or warm-started from the previous member."),
    ]

    /// The schema's fields by key.
    public static let fieldsByKey: [String: SpecField<TrainingSpec>] = Dictionary(uniqueKeysWithValues: schema.map { ($0.key, $0) })

    /// The keys of the fields under `section` (`train`), without the section, in spec order.
    static func keys(in section: String) -> [String] {
        schema.filter { $0.key.hasPrefix(section + ".") }.map { String($0.key.dropFirst(section.count + 1)) }
    }

    /// The top-level keys of a spec file: fields and sections, in spec order.
    static let topLevelKeys: [String] = schema.reduce(into: []) { keys, field in
        let top = String(field.key.prefix { $0 != "." })
        if keys.last != top { keys.append(top) }
    }
}

extension SpecValue {
    /// As a spec file and a report write it (`0.001`, `true`, `soft_logits`).
    public var text: String {
        switch self {
        case let .whole(v): return "\(v)"
        case let .real(v): return "\(v)"
        case let .unsigned(v): return "\(v)"
        case let .flag(v): return "\(v)"
        case let .text(v): return v
        }
    }
}

extension TrainingSpec {
    /// The schema as a Markdown table (key, type, accepted values, default, methods, meaning):
    /// `benn check --schema`, and the README's spec reference.
    public static var schemaTable: String {
        let defaults = TrainingSpec()
        var lines = ["| key | type | values | default | methods | meaning |", "| --- | --- | --- | --- | --- | --- |"]
        for field in schema {
            let (type, values): (String, String)
            switch field.kind {
            case let .whole(range): (type, values) = ("integer", "\(range)")
            case let .real(range): (type, values) = ("number", "\(range)")
            case .unsigned: (type, values) = ("integer", "0...\(UInt64.max)")
            case .flag: (type, values) = ("boolean", "true, false")
            case .text: (type, values) = ("text", "")
            case let .choice(words): (type, values) = ("choice", words.joined(separator: ", "))
            }
            let methods = field.methods.map { $0.count == MethodSpec.Name.allCases.count ? "all" : $0.map(\.rawValue).joined(separator: ", ") } ?? ""
            let value = field.value(in: defaults).map { "`\($0.text)`" } ?? "unset"
            let cells = ["`\(field.key)`", type, values, value, methods, field.doc]
            lines.append("| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }
}
