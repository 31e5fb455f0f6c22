import ArgumentParser
import BennBLAS
import BennData
import BennInference
import BennKernels
import BennNN
import BennOptions
import BennRandom
import BennTensor
import BennTrain
import Dispatch
import Foundation

/// The method table: each BNN method trained on the same model with the same recipe,
/// budget and seed, beside the model's float twin.
///
/// The settings are the flags of `benn bench methods` (`--threads` and `--report` among them,
/// where its help lists them); the command reads `threadOptions` and `reportOptions`.
public struct MethodBench: ParsableArguments {
    @Option(help: "Comma-separated binary models.") public var models: String = "bcnn,breal18"
    @Option(help: "Comma-separated methods.") public var methods: String = MethodSpec.Name.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Epochs per training (every method and the float twin).") public var epochs: Int = 3
    @Option(help: "Seed of every training.") public var seed: UInt64 = 0
    @Option(help: "Comma-separated seeds, instead of --seed: every row is trained once per seed, and a summary gives each row's mean and standard deviation over the seeds and its mean paired difference from bnn.")
    public var seeds: String?
    @Option(help: "Learning rate (Adam, cosine schedule; the same for every method).") public var learningRate: Float = 1e-3
    @OptionGroup public var dataOptions: DataOptions
    /// `key=value` spec assignments applied to every row's spec after the table's own settings.
    @OptionGroup public var setOptions: SetOptions
    @OptionGroup public var threadOptions: ThreadOptions
    @OptionGroup public var reportOptions: ReportOptions
    @Flag(help: "Only measure folded inference of every method's network (untrained weights; speed does not depend on them), all in one pass.")
    public var inferenceOnly = false
    @Flag(name: .customLong("steps"), help: "With --inference-only: also print each compiled step's share of one thread's time on 256 images (best of 5 per step).")
    public var printSteps = false
    @Flag(name: .customLong("real-first-last"), help: "Keep every binary model's first-layer weights and classifier real (method_options.real_first_last).")
    public var realFirstLast = false
    @Option(name: .customLong("resnet-shortcut"), help: "Where every binary ResNet row puts its shortcuts: per_conv or per_block (method_options.resnet_shortcut; default: each method's own).")
    public var resnetShortcut: MethodSpec.ShortcutPlacement?
    @Option(name: .customLong("twin"), help: "A float twin already trained with this table's recipe, seed and data (`benn train --model fcnn ... -o FILE`): its row and ReActNet's teacher come from it instead of a new training. Repeat for several models (and with --seeds, one per seed).")
    public var twinPaths: [String] = []
    @Option(name: .customLong("variant"), help: "One more row per model: a method with options, as METHOD:KEY=VALUE[,KEY=VALUE...] (method_options keys, docs/methods.md), e.g. xnor:activation_scaling=true. Repeat for several; a distilling variant (sdbnn:teacher=train) learns from the table's float twin.")
    public var variants: [String] = []
    @Option(name: .customLong("teacher-epochs"), help: "Distilling rows (ReActNet, a teacher=train variant) learn from a float twin trained for N epochs with the table's recipe and seed, as `teacher_epochs: N` in a spec, instead of from the table's twin row; the float row keeps the table's epochs.")
    public var teacherEpochs: Int?

    public init() {}

    /// The figures of a run: the training table, or with `inferenceOnly` the inference rows.
    public enum Output: Encodable {
        case table(Report)
        case inference([InferenceRow])

        public func encode(to encoder: Encoder) throws {
            switch self {
            case let .table(report): try report.encode(to: encoder)
            case let .inference(rows): try rows.encode(to: encoder)
            }
        }
    }

    public struct Row: Codable {
        var model: String
        /// The method's name, `float` for the twin, or a `--variant` as given.
        var method: String
        var seed: UInt64
        var epochs: Int
        var testAccuracy: Float
        var accuracyPerEpoch: [Float]
        /// Mean training loss of each epoch.
        var lossPerEpoch: [Float]
        var medianSamplesPerSecond: Double
        var imagesPerSecond: Double
        var folded: Bool
        var wallSeconds: Double
        var realFirstLast: Bool
        /// Where a binary ResNet row's shortcuts went (`per_conv` or `per_block`); nil on
        /// plain models and float twins.
        var resnetShortcut: String?
        /// The checkpoint the float twin's row was read from (`--twin`); nil when trained here.
        var twinFile: String?
    }

    /// One row of the table over every seed.
    public struct SeedSummary: Codable {
        var model: String
        var method: String
        var seeds: [UInt64]
        var meanAccuracy: Float
        /// Sample standard deviation (n - 1); 0 with one seed.
        var standardDeviation: Float
        /// Per seed, this row's accuracy minus bnn's on the same model and seed (nil for
        /// the float twin, whose model has no bnn row).
        var differencesFromBNN: [Float]?
        var meanDifferenceFromBNN: Float?
    }

    public struct Report: Codable {
        var rows: [Row]
        var summary: [SeedSummary]
        var recipe: TrainingSpec.RecipeSpec
        /// The first of `seeds`.
        var seed: UInt64
        var seeds: [UInt64]
        var threads: Int
        var trainingSamples: Int
        /// `--teacher-epochs`: the distilling rows' teacher's epochs; nil when they learn from the twin row.
        var teacherEpochs: Int?
        var versions: [String: String]
    }

    /// Trains (or with `inferenceOnly` only measures) every row on `threads` compute threads
    /// (already configured), printing the table; returns the figures.
    public func run(threads: Int) throws -> Output {
        do {
            let methodNames = try methods.split(separator: ",").map { name -> MethodSpec.Name in
                guard let m = MethodSpec.Name(rawValue: String(name)) else {
                    throw BenchError("unknown method '\(name)'; valid: \(MethodSpec.Name.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return m
            }
            let binaryRows = methodNames.map { RowMethod(label: $0.rawValue, method: methodSpec($0, floatTwin: false)) }
                + (try variants.map { RowMethod(label: $0, method: try variantSpec($0)) })
            // Rows are told apart by their labels (the summary groups by them; bnn is the baseline).
            for (i, row) in binaryRows.enumerated() where binaryRows[..<i].contains(where: { $0.label == row.label }) {
                throw BenchError("the table would have two '\(row.label)' rows; give each --variant options that set it apart")
            }
            if let teacherEpochs, teacherEpochs < 1 {
                throw BenchError("--teacher-epochs must be at least 1, got \(teacherEpochs)")
            }
            Console.log("compute: BLAS kernel \(BLAS.coreName), binary kernels \(BinaryKernels.active.rawValue), \(threads) threads")
            if inferenceOnly { return .inference(try measureInference(binaryRows, threads: threads)) }
            let seedList = try seeds.map { list in
                try list.split(separator: ",").map { text -> UInt64 in
                    guard let s = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
                        throw BenchError("--seeds takes comma-separated non-negative integers, got '\(text)' in '\(list)'")
                    }
                    return s
                }
            } ?? [seed]
            guard !seedList.isEmpty, Set(seedList).count == seedList.count else {
                throw BenchError("--seeds needs at least one seed and no seed twice, got '\(seeds ?? "")'")
            }
            var rows: [Row] = []
            var recipe = TrainingSpec.RecipeSpec()
            recipe.epochs = epochs
            recipe.learningRate = learningRate
            /// The recipe every row trains with, `assignments` applied (the report's).
            var appliedRecipe = recipe
            var trainingSamples = 0
            let modelNames = models.split(separator: ",").map(String.init)
            let twinFiles = try readTwins(for: modelNames)
            /// A row's spec: the table's settings, then `assignments` (read and checked as `train --set` reads them).
            func rowSpec(_ name: String, _ method: MethodSpec, seed: UInt64) throws -> TrainingSpec {
                var spec = TrainingSpec()
                spec.model = name
                spec.method = method
                spec.seed = seed
                dataOptions.applyBenchmarkData(to: &spec)
                spec.train = recipe
                return try SpecParser.override(spec, with: setOptions.assignments)
            }
            /// The twin file for a seed; a file for another seed stands in so that the check names the difference.
            func twinFile(_ twin: String, seed: UInt64) -> (path: String, checkpoint: Checkpoint)? {
                twinFiles[twin].map { files in files.first { $0.checkpoint.spec.seed == seed } ?? files[0] }
            }
            // Every twin file is checked before the first training, not when its seed comes up.
            for model in modelNames {
                guard let twin = ModelZoo.floatTwin(of: model), !ModelZoo.isFloat(model) else {
                    throw BenchError("--models takes binary models with a float twin (bcnn, breal18, bmlp), got '\(model)'")
                }
                for seed in seedList {
                    if let (path, checkpoint) = twinFile(twin, seed: seed) {
                        try checkTwin(checkpoint, path: path, against: rowSpec(twin, methodSpec(.bnn, floatTwin: true), seed: seed))
                    }
                }
                // `assignments` are checked against every row's spec before the first training.
                for (name, row) in [(twin, twinRow)] + binaryRows.map({ (model, $0) }) {
                    appliedRecipe = try rowSpec(name, row.method, seed: seedList[0]).train
                }
            }
            for seed in seedList {
                for model in modelNames {
                    let twin = ModelZoo.floatTwin(of: model)!
                    // The distilling rows' teacher: the twin row, or with --teacher-epochs a shorter twin that
                    // the first distilling row trains and later ones reuse.
                    var teacher: Sequential?
                    for (name, row) in [(twin, twinRow)] + binaryRows.map({ (model, $0) }) {
                        var spec = try rowSpec(name, row.method, seed: seed)
                        if let teacherEpochs, spec.method.distills { spec.method.teacherEpochs = teacherEpochs }
                        let datasets = try TrainingData.prepare(spec: spec).data
                        trainingSamples = datasets.training.count
                        let label = name == twin ? "\(twin) (float)" : "\(model)/\(row.label)"
                        let trained: Sequential, history: [EpochStats], wall: Double
                        if name == twin, let (path, checkpoint) = twinFile(twin, seed: seed) {
                            trained = try checkpoint.makeModel()
                            history = checkpoint.history
                            wall = history.map(\.seconds).reduce(0, +)
                            Console.log("\(label) from \(path) (\(checkpoint.completedEpochs) epochs, test accuracy \(Console.percent(history.last?.testAccuracy ?? 0)))")
                        } else {
                            let trainer = try Trainer(spec: spec, for: datasets.training.base)
                            // A distilling method (ReActNet) learns from the float twin above (same budget and seed),
                            // or from one trained for --teacher-epochs, outside the row's wall time as the twin is.
                            if spec.method.distills {
                                trainer.teacher = teacher
                                if teacher == nil, let teacherEpochs {
                                    Console.log("training \(twin) (teacher), \(teacherEpochs) epochs")
                                    try trainer.prepareTeacher(train: datasets.training)
                                    teacher = trainer.teacher
                                }
                            }
                            Console.log("training \(label), \(spec.train.epochs) epochs")
                            let start = DispatchTime.now().uptimeNanoseconds
                            let progress = Console.TrainingProgress()
                            try trainer.fit(train: datasets.training, test: datasets.test, progress: progress.handle)
                            wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                            trained = trainer.model
                            history = trainer.history
                        }
                        if name == twin, teacherEpochs == nil { teacher = trained }
                        let rates = history.map(\.samplesPerSecond).sorted()
                        let net = try InferenceNetwork(trained)
                        let speed = InferenceBenchmark.measure(net, name: label, batches: [256], threadCounts: [threads],
                                                               repetitions: 3)
                        rows.append(Row(model: name, method: row.label, seed: seed, epochs: spec.train.epochs,
                                        testAccuracy: history.last?.testAccuracy ?? 0,
                                        accuracyPerEpoch: history.compactMap(\.testAccuracy),
                                        lossPerEpoch: history.map(\.loss),
                                        medianSamplesPerSecond: rates.isEmpty ? 0 : rates[rates.count / 2],
                                        imagesPerSecond: speed.first?.imagesPerSecond ?? 0,
                                        folded: net.isFolded, wallSeconds: wall, realFirstLast: spec.method.keepsEndsReal,
                                        resnetShortcut: name != twin && ModelZoo.isResNet(name) ? spec.method.resnetShortcutPlacement.rawValue : nil,
                                        twinFile: name == twin ? twinFile(twin, seed: seed)?.path : nil))
                    }
                }
            }
            let methodWidth = max(9, rows.map(\.method.count).max() ?? 0)
            print("model    \("method".padding(toLength: methodWidth + 1, withPad: " ", startingAt: 0))epochs\(seedList.count > 1 ? "  seed" : "")  test accuracy  vs bnn  samples/s  inference images/s (batch 256)")
            for row in rows {
                let base = Self.bnnRow(for: row, in: rows)
                let delta = base.map { String(format: "%+.2f", 100 * (row.testAccuracy - $0.testAccuracy)) } ?? ""
                print("\(row.model.padding(toLength: 8, withPad: " ", startingAt: 0)) \(row.method.padding(toLength: methodWidth, withPad: " ", startingAt: 0)) \(String(row.epochs).leftPad(6))\(seedList.count > 1 ? String(row.seed).leftPad(6) : "")  \(Console.percent(row.testAccuracy).leftPad(13))  \(delta.leftPad(6))  \(String(Int(row.medianSamplesPerSecond)).leftPad(9))  \(String(Int(row.imagesPerSecond)).leftPad(10))")
            }
            let summary = Self.summarize(rows)
            if seedList.count > 1 {
                print("over seeds \(seedList.map(String.init).joined(separator: ", ")): mean, standard deviation, mean paired difference from bnn")
                for r in summary {
                    let delta = r.meanDifferenceFromBNN.map { String(format: "%+.2f", 100 * $0) } ?? ""
                    print("\(r.model.padding(toLength: 8, withPad: " ", startingAt: 0)) \(r.method.padding(toLength: methodWidth, withPad: " ", startingAt: 0)) \(Console.percent(r.meanAccuracy).leftPad(8)) ± \(Console.fixed(Double(100 * r.standardDeviation), 2))  \(delta.leftPad(6))")
                }
            }
            return .table(Report(rows: rows, summary: summary, recipe: appliedRecipe, seed: seedList[0], seeds: seedList, threads: threads,
                                 trainingSamples: trainingSamples, teacherEpochs: teacherEpochs, versions: RuntimeInfo.versions))
        }
    }

    public struct InferenceRow: Codable {
        var model: String
        var method: String
        var folded: Bool
        var batch: Int
        var threads: Int
        var imagesPerSecond: Double
        var millisecondsPerBatch: Double
        var realFirstLast: Bool
    }

    /// The bnn row trained on the same model with the same seed.
    static func bnnRow(for row: Row, in rows: [Row]) -> Row? {
        rows.first { $0.model == row.model && $0.method == "bnn" && $0.seed == row.seed }
    }

    /// Each (model, method) of the table over its seeds, in the table's order. The differences
    /// from bnn are paired by seed: the same seed draws the same data order for both.
    static func summarize(_ rows: [Row]) -> [SeedSummary] {
        var keys: [String] = []
        var groups: [String: [Row]] = [:]
        for row in rows {
            let key = row.model + "/" + row.method
            if groups[key] == nil { keys.append(key) }
            groups[key, default: []].append(row)
        }
        return keys.map { key in
            let group = groups[key]!
            let accuracies = group.map(\.testAccuracy)
            let mean = accuracies.reduce(0, +) / Float(accuracies.count)
            let variance = accuracies.count > 1
                ? accuracies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(accuracies.count - 1) : 0
            let bases = group.compactMap { bnnRow(for: $0, in: rows) }
            let differences = bases.count == group.count ? zip(group, bases).map { $0.testAccuracy - $1.testAccuracy } : nil
            return SeedSummary(model: group[0].model, method: group[0].method, seeds: group.map(\.seed), meanAccuracy: mean,
                               standardDeviation: variance.squareRoot(), differencesFromBNN: differences,
                               meanDifferenceFromBNN: differences.map { $0.reduce(0, +) / Float($0.count) })
        }
    }

    /// The `--twin` checkpoints by the float twin they hold, each the twin of one of the table's
    /// models and at most one per twin and seed.
    func readTwins(for models: [String]) throws -> [String: [(path: String, checkpoint: Checkpoint)]] {
        var files: [String: [(path: String, checkpoint: Checkpoint)]] = [:]
        for path in twinPaths {
            let checkpoint = try Checkpoint.read(from: path)
            let twin = checkpoint.spec.model
            let wanted = models.compactMap(ModelZoo.floatTwin(of:))
            guard wanted.contains(twin) else {
                throw BenchError("--twin \(path) holds '\(twin)', which is not the float twin of any of --models (\(models.map { "\($0): \(ModelZoo.floatTwin(of: $0) ?? "none")" }.joined(separator: ", ")))")
            }
            if let other = files[twin]?.first(where: { $0.checkpoint.spec.seed == checkpoint.spec.seed }) {
                throw BenchError("--twin gives two files for '\(twin)' with seed \(checkpoint.spec.seed): \(other.path) and \(path)")
            }
            files[twin, default: []].append((path, checkpoint))
        }
        return files
    }

    /// A float twin read from a file stands in for one trained here only if it was trained
    /// exactly as this table would train it (thread count aside), to its last epoch: the
    /// table's claim is one recipe, budget and seed for every row.
    func checkTwin(_ checkpoint: Checkpoint, path: String, against expected: TrainingSpec) throws {
        var found = checkpoint.spec
        found.threads = expected.threads
        var differences = expected.differences(in: found, calling: "the table's")
        if checkpoint.completedEpochs != found.train.epochs {
            differences.append("it holds \(checkpoint.completedEpochs) of its \(found.train.epochs) epochs (an unfinished run)")
        }
        guard differences.isEmpty else {
            throw BenchError("--twin \(path) was not trained with this table's spec: \(differences.joined(separator: "; ")) (the table's values come from --epochs, --seed, --learning-rate, --data, --limit and --test-limit)")
        }
    }

    /// A row's method and the name the table gives it.
    struct RowMethod {
        var label: String
        var method: MethodSpec
    }

    /// The float twin's row: bnn's spec, whose binary parts the twin model does not have.
    var twinRow: RowMethod { RowMethod(label: "float", method: methodSpec(.bnn, floatTwin: true)) }

    /// The method of one row: the float twin's layers are real whatever the flag says.
    func methodSpec(_ name: MethodSpec.Name, floatTwin: Bool) -> MethodSpec {
        var method = MethodSpec(name)
        if realFirstLast && !floatTwin { method.realFirstLast = true }
        if !floatTwin { method.resnetShortcut = resnetShortcut }
        return method
    }

    /// A `--variant` (`METHOD:KEY=VALUE,...`) read by the spec parser, so its options are
    /// checked exactly as a spec's `method_options` are. The table's flags apply to it as to
    /// every binary row unless it sets the same option itself.
    func variantSpec(_ text: String) throws -> MethodSpec {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let fail = { (why: String) in BenchError("--variant '\(text)': \(why)") }
        guard let name = parts.first, !name.isEmpty else { throw fail("expected METHOD:KEY=VALUE[,KEY=VALUE...]") }
        var options: [(key: String, value: String)] = []
        if realFirstLast { options.append(("real_first_last", "true")) }
        if let resnetShortcut { options.append(("resnet_shortcut", resnetShortcut.rawValue)) }
        for pair in parts.count > 1 ? parts[1].split(separator: ",", omittingEmptySubsequences: false) : [] {
            let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[0].isEmpty, !kv[1].isEmpty else { throw fail("'\(pair)' is not KEY=VALUE") }
            // The table's teacher is its own float twin (same recipe, budget and seed).
            if kv[0] == "teacher_epochs" || (kv[0] == "teacher" && kv[1] != "train") {
                throw fail("a distilling row learns from the table's float twin: use teacher=train, without teacher_epochs (--teacher-epochs sets the teacher's epochs for every distilling row)")
            }
            // Every option value is a word or a number; anything else would be read as YAML syntax.
            guard kv[1].allSatisfy({ $0.isLetter || $0.isNumber || "_.-+".contains($0) }) else {
                throw fail("the value of \(kv[0]) must be a word or a number, got '\(kv[1])'")
            }
            options.removeAll { $0.key == kv[0] }
            options.append((kv[0], kv[1]))
        }
        let yaml = "method: \(name)\n" + (options.isEmpty ? "" : "method_options:\n" + options.map { "  \($0.key): \($0.value)\n" }.joined())
        do {
            return try SpecParser.parse(yaml, source: "--variant").method
        } catch let error as SpecError {
            throw fail(error.message)
        }
    }

    /// Folded inference of each method's network back to back, so the figures share one
    /// machine state (the training table's inference column is measured between trainings).
    func measureInference(_ binaryRows: [RowMethod], threads: Int) throws -> [InferenceRow] {
        var rows: [InferenceRow] = []
        for model in models.split(separator: ",").map(String.init) {
            guard let twin = ModelZoo.floatTwin(of: model) else { throw BenchError("no float twin for '\(model)'") }
            for (name, row) in [(twin, twinRow)] + binaryRows.map({ (model, $0) }) {
                let label = row.label, spec = row.method
                let net = try InferenceNetwork(try Sequential(try ModelZoo.description(named: name, method: spec), seed: seed))
                if printSteps {
                    var rng = SeededGenerator(seed: seed)
                    let x = Tensor(shape: [256] + net.inputShape, storage: (0..<(256 * net.inputShape.reduce(1, *))).map { _ in Float.random(in: -1...1, using: &rng) })
                    let times = net.profile(x)
                    let total = times.reduce(0) { $0 + $1.seconds }
                    print("\(name) \(label): \(Console.fixed(total * 1000, 2)) ms for 256 images on 1 thread (sum of each step's best of 5)")
                    for t in times where t.seconds > 0 {
                        print("  \(Console.fixed(100 * t.seconds / total, 1).leftPad(5))%  \(t.step)")
                    }
                }
                for r in InferenceBenchmark.measure(net, name: name, batches: [1, 256], threadCounts: [threads]) {
                    rows.append(InferenceRow(model: name, method: label, folded: net.isFolded,
                                             batch: r.batch, threads: r.threads, imagesPerSecond: r.imagesPerSecond,
                                             millisecondsPerBatch: r.millisecondsPerBatch, realFirstLast: spec.keepsEndsReal))
                }
            }
        }
        let methodWidth = max(9, rows.map(\.method.count).max() ?? 0)
        print("model    \("method".padding(toLength: methodWidth + 1, withPad: " ", startingAt: 0))folded  batch  threads   ms/batch    images/s")
        for r in rows {
            print("\(r.model.padding(toLength: 8, withPad: " ", startingAt: 0)) \(r.method.padding(toLength: methodWidth, withPad: " ", startingAt: 0)) \(String(r.folded).leftPad(6))  \(String(r.batch).leftPad(5))  \(String(r.threads).leftPad(7))  \(Console.fixed(r.millisecondsPerBatch, 3).leftPad(9))  \(String(Int(r.imagesPerSecond)).leftPad(10))")
        }
        return rows
    }
}
