import BennKernels
import BennNN
import BennTensor
import BennTrain
import Foundation

/// The one file a user collects and serves: every member's tensors, the member weights,
/// the aggregation rule, input normalisation, class names and provenance, in a
/// safetensors container (layout in docs/ARTIFACT.md).
///
/// Everything but the `run` metadata field is a function of the spec and the data, so two
/// trainings of the same spec on the same machine give identical files apart from `run`.
public struct EnsembleArtifact: Sendable {
    public static let format = "benn-ensemble"
    public static let formatVersion = 1

    public struct Manifest: Codable, Sendable, Equatable {
        public struct Input: Codable, Sendable, Equatable {
            /// [height, width, channels]; images are NHWC.
            public var shape: [Int]
            /// Model input = byte · scale + offset.
            public var scale: Double
            public var offset: Double
        }
        public struct Member: Codable, Sendable, Equatable {
            public var member: Int
            public var alpha: Double
            public var trainingError: Double?
            public var lossPerEpoch: [Float]
            public var testAccuracyPerEpoch: [Float]
        }
        public struct Provenance: Codable, Sendable, Equatable {
            public var spec: TrainingSpec
            public var datasetHash: String
            public var bennVersion: String
        }
        public var format: String
        public var formatVersion: Int
        public var strategy: TrainingSpec.Strategy
        public var aggregation: TrainingSpec.Aggregation
        public var classNames: [String]
        public var input: Input
        public var model: ModelDescription
        public var members: [Member]
        /// Members used for predictions: the first `bestPrefix` (chosen on the validation
        /// split when there is one, else all).
        public var bestPrefix: Int
        public var stopReason: String?
        public var provenance: Provenance
    }

    /// Facts about the run that produced the file and differ between runs (wall time,
    /// throughput, date, machine): the one field excluded from reproducibility.
    public struct Run: Codable, Sendable, Equatable {
        public var createdAt: String
        public var memberSeconds: [Double]
        public var memberSamplesPerSecond: [Double]
        public var environment: [String: String]
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let path: String
        public let problem: String
        public var description: String { "\(path): \(problem)" }
    }

    public var manifest: Manifest
    public var run: Run
    /// Member index -> tensor name -> tensor.
    public var tensors: [Int: [String: Tensor]]
    /// Member index -> weight name -> the per-output scale of a scaled method's weight
    /// stored as signs (read from an artifact; empty for a freshly trained ensemble).
    public var weightScales: [Int: [String: [Float]]] = [:]

    public init(ensemble: TrainedEnsemble, classNames: [String], datasetHash: String, bestPrefix: Int,
                environment: [String: String]) {
        let members = ensemble.state.members
        manifest = Manifest(
            format: EnsembleArtifact.format, formatVersion: EnsembleArtifact.formatVersion,
            strategy: ensemble.state.spec.ensemble.strategy, aggregation: ensemble.state.spec.ensemble.aggregation,
            classNames: classNames,
            input: Manifest.Input(shape: ensemble.model.inputShape, scale: 1 / 127.5, offset: -1),
            model: ensemble.model,
            members: members.map { Manifest.Member(member: $0.member, alpha: $0.alpha, trainingError: $0.trainingError,
                                                   lossPerEpoch: $0.history.map(\.loss),
                                                   testAccuracyPerEpoch: $0.history.compactMap(\.testAccuracy)) },
            bestPrefix: bestPrefix, stopReason: ensemble.state.stopReason,
            provenance: Manifest.Provenance(spec: ensemble.state.spec, datasetHash: datasetHash, bennVersion: BennVersion.current))
        let formatter = ISO8601DateFormatter()
        run = Run(createdAt: formatter.string(from: Date()),
                  memberSeconds: members.map { $0.history.reduce(0) { $0 + $1.seconds } },
                  memberSamplesPerSecond: members.map { m in
                      let rates = m.history.map(\.samplesPerSecond).sorted()
                      return rates.isEmpty ? 0 : rates[rates.count / 2]
                  },
                  environment: environment)
        tensors = ensemble.tensors.filter { t in members.contains { $0.member == t.key } }
    }

    /// Member weights in manifest order.
    public var weights: [Double] { manifest.members.map(\.alpha) }

    public func write(to path: String) throws {
        var file = SafeTensors()
        let (plain, shifted, scaled) = try EnsembleArtifact.binaryWeightNames(manifest.model)
        let computed = shifted.union(scaled)  // stored from the layers' forward weights
        for (member, named) in tensors {
            let forward = computed.isEmpty ? [:]
                : try EnsembleArtifact.forwardWeights(of: computed, model: manifest.model, tensors: named,
                                                      scales: weightScales[member] ?? [:])
            for (name, t) in named {
                if scaled.contains(name) {
                    // α ⊙ ±1: the signs as bits and α beside them, exactly as trained.
                    guard let effective = forward[name] else { preconditionFailure("no layer of the model owns the weight \(name)") }
                    let rows = effective.shape[0], n = effective.count / max(1, rows)
                    let (words, shape) = EnsembleArtifact.packSigns(effective)
                    file.set("m\(member).\(name).bits", words: words, shape: shape)
                    file.set("m\(member).\(name).scale", Tensor(shape: [rows], storage: (0..<rows).map { abs(effective[$0 * n]) }))
                } else if plain.contains(name) || shifted.contains(name) {
                    guard let signs = plain.contains(name) ? t : forward[name] else {
                        preconditionFailure("no layer of the model owns the weight \(name)")
                    }
                    let (words, shape) = EnsembleArtifact.packSigns(signs)
                    file.set("m\(member).\(name).bits", words: words, shape: shape)
                } else {
                    file.set("m\(member).\(name)", t)
                }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        file.metadata["format"] = EnsembleArtifact.format
        file.metadata["format_version"] = String(EnsembleArtifact.formatVersion)
        file.metadata["manifest"] = String(decoding: try encoder.encode(manifest), as: UTF8.self)
        file.metadata["run"] = String(decoding: try encoder.encode(run), as: UTF8.self)
        try file.write(to: path)
    }

    public static func read(from path: String) throws -> EnsembleArtifact {
        let file = try SafeTensors.read(from: path)
        func fail(_ p: String) -> LoadError { LoadError(path: path, problem: p) }
        guard file.metadata["format"] == format else {
            if file.metadata["format"] == "benn-checkpoint" {
                throw fail("this is a single-model checkpoint, not an ensemble artifact (use it with `benn eval` directly)")
            }
            throw fail("not a benn ensemble artifact (format '\(file.metadata["format"] ?? "missing")')")
        }
        guard file.metadata["format_version"] == String(formatVersion) else {
            throw fail("artifact format version \(file.metadata["format_version"] ?? "missing") is not supported (this benn reads \(formatVersion))")
        }
        // Current files carry benn.file_checksum (header and data); files written before it
        // only benn.checksum (data), still accepted. A file with neither is refused.
        guard !file.verifiedChecksums.isEmpty else {
            throw fail("no \(SafeTensors.fileChecksumKey) (nor the older \(SafeTensors.checksumKey)) in its metadata; an artifact must carry a checksum")
        }
        let decoder = JSONDecoder()
        guard let m = file.metadata["manifest"], let manifest = try? decoder.decode(Manifest.self, from: Data(m.utf8)) else {
            throw fail("the manifest is missing or malformed")
        }
        // Predictions feed images of `input.shape` to a network built for `model.inputShape`;
        // a disagreement would stop the process at the first image (a precondition in the
        // first layer), so it is refused here, before anything is served or predicted.
        if let problem = manifest.inputShapeProblem ?? manifest.problem { throw fail(problem) }
        let run = file.metadata["run"].flatMap { try? decoder.decode(Run.self, from: Data($0.utf8)) }
            ?? Run(createdAt: "", memberSeconds: [], memberSamplesPerSecond: [], environment: [:])
        var tensors: [Int: [String: Tensor]] = [:]
        var weightScales: [Int: [String: [Float]]] = [:]
        let shapes: [String: [Int]]
        do {
            shapes = Dictionary(uniqueKeysWithValues: try Sequential(manifest.model, seed: 0).namedTensors.map { ($0.name, $0.tensor.shape) })
        } catch { throw fail("the manifest's model is invalid: \(error)") }
        for name in file.entries.keys {
            guard name.hasPrefix("m"), let dot = name.firstIndex(of: "."), let member = Int(name[name.index(after: name.startIndex)..<dot]) else {
                throw fail("unexpected tensor '\(name)'")
            }
            var tensorName = String(name[name.index(after: dot)...])
            let tensor: Tensor
            if tensorName.hasSuffix(".scale") {
                let weightName = String(tensorName.dropLast(6))
                guard let shape = shapes[weightName], file.entries[String(name.dropLast(6)) + ".bits"] != nil else {
                    throw fail("scale '\(name)' belongs to no weight stored as bits")
                }
                guard let t = file.tensor(name), t.count == shape[0] else { throw fail("scale '\(name)' must be F32 with \(shape[0]) values") }
                weightScales[member, default: [:]][weightName] = (0..<t.count).map { t[$0] }
                continue
            } else if tensorName.hasSuffix(".bits") {
                tensorName = String(tensorName.dropLast(5))
                guard let shape = shapes[tensorName], let words = file.words(name) else { throw fail("unexpected packed tensor '\(name)'") }
                guard let t = EnsembleArtifact.unpackSigns(words, shape: shape) else {
                    throw fail("packed tensor '\(name)' has \(words.count) words, shape \(shape) needs another count")
                }
                tensor = t
            } else {
                guard let t = file.tensor(name) else { throw fail("tensor '\(name)' is not F32") }
                tensor = t
            }
            tensors[member, default: [:]][tensorName] = tensor
        }
        let listed = Set(manifest.members.map(\.member))
        for name in file.entries.keys.sorted() {
            let member = Int(name.dropFirst().prefix { $0 != "." })!
            guard listed.contains(member) else {
                throw fail("tensor '\(name)' belongs to member \(member), which manifest members does not list (members are \(manifest.members.map(\.member)))")
            }
        }
        var artifact = EnsembleArtifact(manifest: manifest, run: run, tensors: tensors)
        artifact.weightScales = weightScales
        for (i, member) in manifest.members.enumerated() where tensors[member.member] == nil && weightScales[member.member] == nil {
            throw fail("manifest members[\(i)].member is \(member.member), but the file has no tensors of member \(member.member) (no 'm\(member.member).*')")
        }
        do { _ = try artifact.networks() } catch { throw fail("\(error)") }
        return artifact
    }

    init(manifest: Manifest, run: Run, tensors: [Int: [String: Tensor]]) {
        self.manifest = manifest
        self.run = run
        self.tensors = tensors
    }

    /// The members' networks in manifest order.
    public func networks() throws -> [Sequential] {
        try manifest.members.map { m in
            try EnsembleArtifact.network(manifest.model, tensors: tensors[m.member] ?? [:], scales: weightScales[m.member] ?? [:])
        }
    }

    /// Names of the binary weights stored as sign bits: `plain` ones, whose own signs are all
    /// the forward pass uses, and SD-BNN's self-distributed ones (`shifted`), stored as the
    /// signs of the shifted weights W' = W + sigmoid(a)·0.01·mean(W): reloaded as ±1, their
    /// shift is under 0.01 in magnitude, so they binarize to exactly those signs. Weights
    /// scaled by mean|W| (xnor, bireal, reactnet) are `scaled`: stored as their signs plus
    /// the trained per-output scale, which the reloaded layer uses as it is.
    static func binaryWeightNames(_ model: ModelDescription) throws -> (plain: Set<String>, shifted: Set<String>, scaled: Set<String>) {
        var plain = Set<String>(), shifted = Set<String>(), scaled = Set<String>()
        func classify(_ q: WeightQuantizer?, _ name: String) {
            guard let q else { return }
            if q.scale != .none { scaled.insert(name) } else if q.selfDistribution { shifted.insert(name) } else { plain.insert(name) }
        }
        for layer in try Sequential(model, seed: 0).allLayers {
            if let d = layer as? Dense { classify(d.quantizer, d.weight.name) }
            if let c = layer as? Conv2D { classify(c.quantizer, c.weight.name) }
        }
        return (plain, shifted, scaled)
    }

    /// The forward weights (±1, or α ⊙ ±1 for scaled methods) of the named layers of one
    /// member, computed by the layers themselves (the same Float operations as training and
    /// folded inference).
    static func forwardWeights(of names: Set<String>, model: ModelDescription, tensors: [String: Tensor],
                               scales: [String: [Float]]) throws -> [String: Tensor] {
        let net = try network(model, tensors: tensors, scales: scales)
        var forward: [String: Tensor] = [:]
        for layer in net.allLayers {
            if let d = layer as? Dense, names.contains(d.weight.name) { forward[d.weight.name] = d.forwardWeights() }
            if let c = layer as? Conv2D, names.contains(c.weight.name) { forward[c.weight.name] = c.forwardWeights() }
        }
        return forward
    }

    /// One member's network: its tensors loaded, and stored weight scales handed to their layers.
    static func network(_ model: ModelDescription, tensors: [String: Tensor], scales: [String: [Float]]) throws -> Sequential {
        let net = try Sequential(model, seed: 0)
        try net.load(tensors)
        guard !scales.isEmpty else { return net }
        for layer in net.allLayers {
            if let d = layer as? Dense, let s = scales[d.weight.name] { d.storedWeightScale = s }
            if let c = layer as? Conv2D, let s = scales[c.weight.name] { c.storedWeightScale = s }
        }
        return net
    }

    /// Sign bits of a weight tensor: one row per output (first dimension), bit j%64 of
    /// word j/64 set when element j of the row is negative, rows padded to whole words.
    static func packSigns(_ t: Tensor) -> (words: [UInt64], shape: [Int]) {
        let rows = t.shape[0], cols = t.count / max(1, rows)
        let perRow = BinaryKernels.words(forBits: cols)
        var words = [UInt64](repeating: 0, count: rows * perRow)
        t.withPointer { BinaryKernels.pack($0, rows: rows, cols: cols, srcStride: cols, into: &words, dstStride: perRow, path: .scalar) }
        return (words, [rows, perRow])
    }

    /// ±1 weights from sign bits (the forward pass only uses the signs).
    static func unpackSigns(_ words: [UInt64], shape: [Int]) -> Tensor? {
        let rows = shape[0], cols = shape.dropFirst().reduce(1, *)
        let perRow = BinaryKernels.words(forBits: cols)
        guard words.count == rows * perRow else { return nil }
        var t = Tensor(shape: shape)
        for r in 0..<rows {
            for j in 0..<cols {
                t[r * cols + j] = (words[r * perRow + j / 64] >> UInt64(j % 64)) & 1 == 1 ? -1 : 1
            }
        }
        return t
    }

    /// Total bytes of the stored tensors.
    public var tensorBytes: Int { tensors.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count * 4 } } }
}

extension EnsembleArtifact.Manifest {
    /// The first way this manifest is inconsistent on its own (member weights, member
    /// indices, class names, best prefix, input scaling), naming the field and its value,
    /// or nil when it is consistent. The tensors are checked against it by `read`.
    public var problem: String? {
        func number(_ x: Double) -> String {
            x.isFinite && x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
        }
        guard !members.isEmpty else { return "manifest members is empty; an ensemble needs at least one member" }
        var seen: [Int: Int] = [:]
        for (i, m) in members.enumerated() {
            guard m.alpha.isFinite, m.alpha >= 0 else {
                return "manifest members[\(i)].alpha (the member's weight) is \(number(m.alpha)); weights must be finite and non-negative"
            }
            guard m.member >= 0 else { return "manifest members[\(i)].member is \(m.member); member indices must be non-negative" }
            if let j = seen[m.member] {
                return "manifest members[\(i)].member is \(m.member), the same as members[\(j)].member; member indices must be unique"
            }
            seen[m.member] = i
        }
        guard (1...members.count).contains(bestPrefix) else {
            return "manifest bestPrefix is \(bestPrefix); it must be within 1...\(members.count) (the number of members)"
        }
        guard members.prefix(bestPrefix).contains(where: { $0.alpha > 0 }) else {
            return "manifest members[0..<\(bestPrefix)] (the best prefix) all have weight 0; at least one must be positive"
        }
        guard classNames.count == model.classes else {
            return "manifest classNames has \(classNames.count) names, but its model '\(model.name)' has \(model.classes) classes"
        }
        guard input.scale.isFinite, input.scale != 0 else {
            return "manifest input.scale is \(number(input.scale)); it must be finite and non-zero"
        }
        guard input.offset.isFinite else { return "manifest input.offset is \(input.offset); it must be finite" }
        return nil
    }

    /// Why the images this manifest describes (`input.shape`) cannot go through its model
    /// (built for `model.inputShape`), or nil when they can.
    public var inputShapeProblem: String? {
        let s = input.shape
        guard s.count == 3, s.allSatisfy({ $0 > 0 }) else {
            return "manifest input.shape is \(s); it must be [height, width, channels], each positive"
        }
        guard s == model.inputShape else {
            return "the manifest's input shape \(s) disagrees with its model '\(model.name)', built for \(model.inputShape) inputs"
        }
        return nil
    }
}
