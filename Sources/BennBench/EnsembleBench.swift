import ArgumentParser
import BennData
import BennEnsemble
import BennInference
import BennNN
import BennOptions
import BennTensor
import BennTrain
import Dispatch
import Foundation

/// The ensemble table: accuracy per member count for bagging and boosting, artifact size,
/// and ensemble inference speed against one float model, all in one run (`benn bench ensemble`).
///
/// The settings are the flags of `benn bench ensemble`.
public struct EnsembleBench: ParsableArguments {
    @Option(help: "Binary member model.") public var model: String = "bcnn"
    @Option(help: "Members (K).") public var members: Int = 5
    @Option(help: "Epochs per member.") public var epochs: Int = 5
    @Option(name: .customLong("float-epochs"), help: "Epochs of the float twin (default: same; 0 skips it).") public var floatEpochs: Int?
    @Option(help: "Strategies to run.") public var strategies: String = "bagging,boosting"
    @Option(name: .customLong("boosting-rule"), help: "Boosting rule.") public var boostingRule: TrainingSpec.BoostingRule = .samme
    @Option(help: "Where each member starts: from scratch, or from the previous member's weights.") public var start: TrainingSpec.Start = .independent
    @Option(help: "How boosting members see the sample weights: a fresh weighted resample each epoch, or a weighted loss.") public var sampling: TrainingSpec.Sampling = .resample
    @Option(help: "Method of every member (docs/methods.md; its default options).") public var method: MethodSpec.Name = .bnn
    @Flag(name: .customLong("real-first-last"), help: "Members keep their first-layer weights and classifier real (method_options.real_first_last).")
    public var realFirstLast = false
    @Option(name: .customLong("keep-artifacts"), help: "Keep each strategy's artifact in this directory (for `benn eval`).") public var keepArtifacts: String?
    @OptionGroup public var dataOptions: DataOptions

    public init() {}

    public struct StrategyRow: Codable {
        var strategy: String
        var accuracyByMembers: [Double]
        /// The same members combined by every aggregation rule (K = 1...members).
        var accuracyByRule: [String: [Double]]?
        var memberAccuracies: [Double]
        var alphas: [Double]
        var artifactBytes: Int
        var imagesPerSecond: Double
        var trainingSeconds: Double
    }
    public struct Report: Codable {
        var model: String
        var method: String?
        var realFirstLast: Bool?
        var epochsPerMember: Int
        var rows: [StrategyRow]
        var boostingRule: String
        var start: String?
        var sampling: String?
        var floatModel: String
        /// Absent when the float twin was skipped (`--float-epochs 0`).
        var floatAccuracy: Double?
        var floatCheckpointBytes: Int?
        var floatImagesPerSecond: Double?
        var threads: Int
    }

    /// Trains and measures every strategy and the float twin on `threads` compute threads
    /// (already configured), printing the table; returns the figures.
    public func run(threads: Int) throws -> Report {
        do {
            let rule = boostingRule
            var base = TrainingSpec()
            base.ensemble.boostingRule = rule
            base.ensemble.start = start
            base.ensemble.sampling = sampling
            base.model = model
            base.method.name = method
            if realFirstLast { base.method.realFirstLast = true }
            dataOptions.applyBenchmarkData(to: &base)
            base.train.epochs = epochs
            let (trainImages, testImages) = try TrainingData.load(spec: base)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("benn-bench-ensemble-\(getpid())").path
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            let test = try TrainingData.make(spec: base, trainImages: trainImages, testImages: testImages).test!
            let x = EnsembleInference.inputs(test)
            var rows: [StrategyRow] = []
            for name in strategies.split(separator: ",") {
                guard let strategy = TrainingSpec.Strategy(rawValue: String(name)), strategy != .single else {
                    throw BenchError("--strategies takes bagging and/or boosting, got '\(name)'")
                }
                var spec = base
                spec.ensemble.strategy = strategy
                spec.ensemble.members = members
                let dataViews = try TrainingData.make(spec: spec, trainImages: trainImages, testImages: nil)
                let start = DispatchTime.now().uptimeNanoseconds
                let progress = Console.TrainingProgress()
                let ensemble = try EnsembleRunner.run(spec: spec, data: dataViews, log: Console.log, memberProgress: { _, e in progress.handle(e) })
                let trainingSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let networks = try ensemble.networks()
                let weights = ensemble.state.members.map(\.alpha)
                // The members run once on the test set; every rule is scored from their outputs.
                let inference = try EnsembleInference(networks: networks, weights: weights, rule: spec.ensemble.aggregation)
                let outputs = inference.memberOutputs(x)
                let labels = test.labels.map(Int.init)
                func score(_ rule: TrainingSpec.Aggregation) -> EnsembleEvaluation {
                    EnsembleEvaluation.combining(outputs, weights: weights, labels: labels, classes: testImages.classCount, rule: rule)
                }
                let eval = score(spec.ensemble.aggregation)
                var byRule: [String: [Double]] = [:]
                for r in TrainingSpec.Aggregation.allCases { byRule[r.rawValue] = score(r).prefixAccuracies }
                let path = (keepArtifacts ?? work) + "/\(strategy.rawValue).benn"
                // All members (no validation view), no dataset hash or environment: the bytes a model costs.
                try EnsembleArtifact.assemble(ensemble, classNames: trainImages.classNames, datasetHash: "", validation: nil,
                                              environment: [:]).artifact.write(to: path)
                let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                let rate = Self.imagesPerSecond { _ = inference.scores(x, threads: threads) } * Double(test.count)
                rows.append(StrategyRow(strategy: strategy.rawValue, accuracyByMembers: eval.prefixAccuracies, accuracyByRule: byRule, memberAccuracies: eval.memberAccuracies,
                                        alphas: weights, artifactBytes: bytes, imagesPerSecond: rate, trainingSeconds: trainingSeconds))
            }
            // The float twin, trained with the same recipe.
            var floatSpec = base
            floatSpec.model = ModelZoo.floatTwin(of: model) ?? model
            floatSpec.method = MethodSpec()  // the members' method applies to binary layers only
            floatSpec.train.epochs = floatEpochs ?? epochs
            var floatAccuracy: Double?, floatBytes: Int?, floatRate: Double?
            if floatSpec.train.epochs > 0 {
                let trainer = try Trainer(spec: floatSpec, for: trainImages)
                let progress = Console.TrainingProgress()
                try trainer.fit(train: try TrainingData.make(spec: floatSpec, trainImages: trainImages, testImages: nil).training, progress: progress.handle)
                floatAccuracy = Double(trainer.evaluate(test).accuracy)
                // Serving the float model needs only its parameters and buffers, not optimizer state.
                floatBytes = trainer.model.namedTensors.reduce(0) { $0 + $1.tensor.count * 4 }
                let floatNet = try InferenceNetwork(trainer.model)
                floatRate = Self.imagesPerSecond { _ = floatNet.predict(x, threads: threads) } * Double(test.count)
            }

            print("\(model) members (\(method.rawValue)\(realFirstLast ? ", real first and last layers" : "")), \(epochs) epochs each, boosting rule \(rule.rawValue), \(start.rawValue) start, \(sampling.rawValue); float twin \(floatSpec.model), \(floatSpec.train.epochs) epochs; \(threads) threads")
            print("strategy   " + (1...members).map { "K=\($0)".leftPad(8) }.joined() + "   artifact bytes   images/s")
            for r in rows {
                print(r.strategy.padding(toLength: 10, withPad: " ", startingAt: 0) + " " + r.accuracyByMembers.map { Console.percent(Float($0)).leftPad(8) }.joined()
                      + String(r.artifactBytes).leftPad(17) + String(Int(r.imagesPerSecond)).leftPad(11))
                for (ruleName, accuracies) in (r.accuracyByRule ?? [:]).sorted(by: { $0.key < $1.key }) {
                    print("  \(ruleName)".padding(toLength: 21, withPad: " ", startingAt: 0) + accuracies.map { Console.percent(Float($0)) }.joined(separator: " "))
                }
            }
            if let floatAccuracy, let floatBytes, let floatRate {
                print("\(floatSpec.model.padding(toLength: 10, withPad: " ", startingAt: 0)) \(Console.percent(Float(floatAccuracy)).leftPad(8))" + String(repeating: " ", count: 8 * (members - 1)) + String(floatBytes).leftPad(17) + String(Int(floatRate)).leftPad(11))
            }
            return Report(model: model, method: method.rawValue, realFirstLast: realFirstLast, epochsPerMember: epochs, rows: rows, boostingRule: rule.rawValue, start: start.rawValue, sampling: sampling.rawValue, floatModel: floatSpec.model, floatAccuracy: floatAccuracy,
                                          floatCheckpointBytes: floatBytes, floatImagesPerSecond: floatRate, threads: threads)
        }
    }

    /// Runs per second of `body` (median of 5 after a warm-up).
    static func imagesPerSecond(_ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<5 {
            let t = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
        }
        return 1 / times.sorted()[2]
    }
}
