import Foundation
import BennNN

/// Reads a `TrainingSpec` from YAML or TOML, rejecting unknown keys (a typo is an error that
/// names the line and suggests the nearest valid key, never a silently ignored field).
public enum SpecParser {
    /// The text formats a spec can be written in.
    public enum Format: String, Sendable {
        case yaml, toml

        /// `.toml` files are TOML; anything else is read as YAML.
        public init(path: String) {
            self = path.lowercased().hasSuffix(".toml") ? .toml : .yaml
        }
    }

    public static func load(path: String) throws -> TrainingSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError(location: path, message: FileManager.default.fileExists(atPath: path)
                            ? "cannot read the spec file" : "spec file not found")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SpecError(location: path, message: "spec file is not UTF-8 text")
        }
        return try parse(text, source: path, format: Format(path: path))
    }

    public static func parse(_ text: String, source: String = "<spec>", format: Format = .yaml) throws -> TrainingSpec {
        let root: SpecNode?
        switch format {
        case .yaml: root = try SpecNode.yaml(text, source: source)
        case .toml: root = try SpecNode.toml(text, source: source)
        }
        var spec = TrainingSpec()
        guard let root else { return spec }
        let r = Reader(source: source)
        let top = try r.mapping(root, "spec")
        try r.checkKeys(top, allowed: ["model", "method", "method_options", "seed", "threads", "data", "train", "ensemble"], section: "spec")
        // The method decides which options are valid, so it is read first.
        for (key, value) in top where key.scalar == "method" {
            spec.method = MethodSpec(try r.choice(value, "method", MethodSpec.Name.self))
        }
        for (key, value) in top {
            switch key.scalar {
            case "model": spec.model = try r.string(value, "model")
            case "method": break
            case "method_options":
                let m = try r.mapping(value, "method_options")
                let name = spec.method.name
                let allowed = MethodSpec.optionKeys(for: name)
                try r.checkKeys(m, allowed: allowed, section: "method_options (method \(name.rawValue))")
                for (k, v) in m {
                    let f = "method_options.\(k.scalar ?? "")"
                    switch k.scalar {
                    case "gradient": spec.method.gradient = try r.choice(v, f, MethodSpec.WeightGradient.self)
                    case "activation_scaling": spec.method.activationScaling = try r.bool(v, f)
                    case "teacher": spec.method.teacher = try r.string(v, f)
                    case "teacher_epochs": spec.method.teacherEpochs = try r.int(v, f, min: 1)
                    case "two_step": spec.method.twoStep = try r.bool(v, f)
                    case "first_step_epochs": spec.method.firstStepEpochs = try r.int(v, f, min: 0)
                    case "restart_schedule": spec.method.restartSchedule = try r.bool(v, f)
                    case "repeat_first_step": spec.method.repeatFirstStep = try r.bool(v, f)
                    case "pretrain_epochs": spec.method.pretrainEpochs = try r.int(v, f, min: 0)
                    case "mean_center": spec.method.meanCenter = try r.bool(v, f)
                    case "block_order": spec.method.blockOrder = try r.choice(v, f, MethodSpec.BlockOrder.self)
                    case "real_first_last": spec.method.realFirstLast = try r.bool(v, f)
                    case "init_from": spec.method.initFrom = try r.string(v, f)
                    case "resnet_shortcut": spec.method.resnetShortcut = try r.choice(v, f, MethodSpec.ShortcutPlacement.self)
                    case "resnet_downsample": spec.method.resnetDownsample = try r.choice(v, f, MethodSpec.Downsampling.self)
                    case "activation_shift": spec.method.activationShift = try r.choice(v, f, MethodSpec.ShiftKind.self)
                    case "se_reduction": spec.method.seReduction = try r.int(v, f, min: 1)
                    case "surrogate": spec.method.surrogate = try r.choice(v, f, MethodSpec.SurrogateKind.self)
                    case "weight_surrogate": spec.method.weightSurrogate = try r.choice(v, f, MethodSpec.SurrogateKind.self)
                    case "ede_min_temperature": spec.method.edeMinimumTemperature = try r.float(v, f)
                    case "ede_max_temperature": spec.method.edeMaximumTemperature = try r.float(v, f)
                    case "block_activation": spec.method.blockActivation = try r.choice(v, f, MethodSpec.BlockActivation.self)
                    default: break
                    }
                }
            case "seed": spec.seed = UInt64(try r.int(value, "seed", min: 0))
            case "threads": spec.threads = try r.int(value, "threads", min: 1)
            case "data":
                let m = try r.mapping(value, "data")
                try r.checkKeys(m, allowed: ["directory", "validation", "crop_padding", "flip", "limit", "test_limit"], section: "data")
                for (k, v) in m {
                    switch k.scalar {
                    case "directory": spec.data.directory = try r.string(v, "data.directory")
                    case "validation": spec.data.validation = try r.int(v, "data.validation", min: 0)
                    case "crop_padding": spec.data.cropPadding = try r.int(v, "data.crop_padding", min: 0)
                    case "flip": spec.data.flip = try r.bool(v, "data.flip")
                    case "limit": spec.data.limit = try r.int(v, "data.limit", min: 0)
                    case "test_limit": spec.data.testLimit = try r.int(v, "data.test_limit", min: 0)
                    default: break
                    }
                }
            case "train":
                let m = try r.mapping(value, "train")
                try r.checkKeys(m, allowed: ["epochs", "batch_size", "optimizer", "learning_rate", "momentum", "nesterov",
                                             "weight_decay", "schedule", "step_epochs", "step_factor",
                                             "minimum_learning_rate", "label_smoothing"], section: "train")
                for (k, v) in m {
                    let f = "train.\(k.scalar ?? "")"
                    switch k.scalar {
                    case "epochs": spec.train.epochs = try r.int(v, f, min: 1)
                    case "batch_size": spec.train.batchSize = try r.int(v, f, min: 1)
                    case "optimizer": spec.train.optimizer = try r.choice(v, f, TrainingSpec.OptimizerKind.self)
                    case "learning_rate": spec.train.learningRate = try r.float(v, f)
                    case "momentum": spec.train.momentum = try r.float(v, f)
                    case "nesterov": spec.train.nesterov = try r.bool(v, f)
                    case "weight_decay": spec.train.weightDecay = try r.float(v, f)
                    case "schedule": spec.train.schedule = try r.choice(v, f, TrainingSpec.ScheduleKind.self)
                    case "step_epochs": spec.train.stepEpochs = try r.int(v, f, min: 1)
                    case "step_factor": spec.train.stepFactor = try r.float(v, f)
                    case "minimum_learning_rate": spec.train.minimumLearningRate = try r.float(v, f)
                    case "label_smoothing": spec.train.labelSmoothing = try r.float(v, f)
                    default: break
                    }
                }
            case "ensemble":
                let m = try r.mapping(value, "ensemble")
                try r.checkKeys(m, allowed: ["strategy", "members", "aggregation", "boosting_rule", "sampling", "start"], section: "ensemble")
                for (k, v) in m {
                    let f = "ensemble.\(k.scalar ?? "")"
                    switch k.scalar {
                    case "strategy": spec.ensemble.strategy = try r.choice(v, f, TrainingSpec.Strategy.self)
                    case "members": spec.ensemble.members = try r.int(v, f, min: 1)
                    case "aggregation": spec.ensemble.aggregation = try r.choice(v, f, TrainingSpec.Aggregation.self)
                    case "boosting_rule": spec.ensemble.boostingRule = try r.choice(v, f, TrainingSpec.BoostingRule.self)
                    case "sampling": spec.ensemble.sampling = try r.choice(v, f, TrainingSpec.Sampling.self)
                    case "start": spec.ensemble.start = try r.choice(v, f, TrainingSpec.Start.self)
                    default: break
                    }
                }
            default: break
            }
        }
        do {
            try spec.validate()
        } catch var e as SpecError {
            e.location = source
            throw e
        }
        return spec
    }

    /// Typed access to spec nodes with errors that point at the node.
    struct Reader {
        let source: String

        typealias Mapping = [(key: SpecNode, value: SpecNode)]

        func at(_ node: SpecNode) -> String {
            guard let line = node.line, let column = node.column else { return source }
            return "\(source):\(line):\(column)"
        }

        func mapping(_ node: SpecNode, _ field: String) throws -> Mapping {
            guard let m = node.mapping else { throw SpecError(location: at(node), message: "\(field) must be a mapping of keys to values") }
            return m
        }

        func checkKeys(_ m: Mapping, allowed: [String], section: String) throws {
            var seen = Set<String>()
            for (key, _) in m {
                let k = key.scalar ?? ""
                guard allowed.contains(k) else {
                    let hint = nearest(k, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                    throw SpecError(location: at(key),
                                    message: "unknown key '\(k)' in \(section)\(hint); valid keys: \(allowed.joined(separator: ", "))")
                }
                guard seen.insert(k).inserted else { throw SpecError(location: at(key), message: "key '\(k)' appears twice in \(section)") }
            }
        }

        func scalar(_ node: SpecNode, _ field: String) throws -> String {
            guard let s = node.scalar else { throw SpecError(location: at(node), message: "\(field) must be a single value") }
            return s
        }

        func string(_ node: SpecNode, _ field: String) throws -> String { try scalar(node, field) }

        func int(_ node: SpecNode, _ field: String, min: Int) throws -> Int {
            let s = try scalar(node, field)
            guard let v = Int(s.replacingOccurrences(of: "_", with: "")) else {
                throw SpecError(location: at(node), message: "\(field) must be a whole number, got '\(s)'")
            }
            guard v >= min else { throw SpecError(location: at(node), message: "\(field) must be at least \(min), got \(v)") }
            return v
        }

        func float(_ node: SpecNode, _ field: String) throws -> Float {
            let s = try scalar(node, field)
            guard let v = Float(s), v.isFinite else { throw SpecError(location: at(node), message: "\(field) must be a number, got '\(s)'") }
            return v
        }

        func bool(_ node: SpecNode, _ field: String) throws -> Bool {
            let s = try scalar(node, field).lowercased()
            switch s {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: throw SpecError(location: at(node), message: "\(field) must be true or false, got '\(s)'")
            }
        }

        func choice<T: RawRepresentable & CaseIterable>(_ node: SpecNode, _ field: String, _: T.Type) throws -> T where T.RawValue == String {
            let s = try scalar(node, field)
            guard let v = T(rawValue: s) else {
                let valid = T.allCases.map(\.rawValue)
                let hint = nearest(s, in: valid).map { " (did you mean '\($0)'?)" } ?? ""
                throw SpecError(location: at(node), message: "\(field): unknown value '\(s)'\(hint); valid: \(valid.joined(separator: ", "))")
            }
            return v
        }
    }

    /// The allowed word within edit distance 2, if any.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var prev = Array(0...b.count)
            for i in 1...max(1, a.count) where !a.isEmpty {
                var cur = [i] + [Int](repeating: 0, count: b.count)
                for j in 1...max(1, b.count) where !b.isEmpty {
                    cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                prev = cur
            }
            return a.isEmpty ? b.count : (b.isEmpty ? a.count : prev[b.count])
        }
        let w = Array(word)
        let best = candidates.map { ($0, distance(w, Array($0))) }.min { $0.1 < $1.1 }
        return best.flatMap { $0.1 <= 2 ? $0.0 : nil }
    }
}
