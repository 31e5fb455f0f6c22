import ArgumentParser
import BennNN
import BennOptions
import BennTrain

/// A spec file and the flags that override it: what `benn train` and `benn check` read a
/// spec from, so that `check` accepts exactly the specs `train` would run.
struct SpecOptions: ParsableArguments {
    @Argument(help: "A spec file, TOML if it ends in .toml and YAML otherwise (optional; flags alone are enough).")
    var spec: String?

    @Option(help: "Model: \(ModelZoo.names.joined(separator: ", ")).") var model: String?
    @Option(help: "BNN method: \(MethodSpec.Name.allCases.map(\.rawValue).joined(separator: ", ")) (options only in a spec's method_options).")
    var method: String?
    @Option(help: "Epochs to train.") var epochs: Int?
    @Option(name: .customLong("batch-size"), help: "Samples per batch.") var batchSize: Int?
    @Option(name: .customLong("learning-rate"), help: "Base learning rate.") var learningRate: Float?
    @Option(help: "Random seed.") var seed: UInt64?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var setOptions: SetOptions

    /// The spec file (or the defaults) with the flags, then `--set`, applied; validated.
    func makeSpec() throws -> TrainingSpec {
        var s = try spec.map { try SpecParser.load(path: $0) } ?? TrainingSpec()
        if let model { s.model = model }
        if let method {
            guard let name = MethodSpec.Name(rawValue: method) else {
                throw SpecError(location: "options", message: "--method: unknown value '\(method)'; valid: \(MethodSpec.Name.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if name != s.method.name { s.method = MethodSpec(name) }
        }
        if let epochs { s.train.epochs = epochs }
        if let batchSize { s.train.batchSize = batchSize }
        if let learningRate { s.train.learningRate = learningRate }
        if let seed { s.seed = seed }
        if let data = dataOptions.data { s.data.directory = data }
        if let threads { s.threads = threads }
        if let limit = dataOptions.limit { s.data.limit = limit }
        if let testLimit = dataOptions.testLimit { s.data.testLimit = testLimit }
        return try SpecParser.override(s, with: setOptions.assignments)
    }
}
