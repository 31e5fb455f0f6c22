import ArgumentParser
import BennData
import BennBench
import BennEnsemble
import BennInference
import BennNN
import BennTensor
import BennTrain
import Dispatch
import Foundation

/// The ensemble table: accuracy per member count for bagging and boosting, artifact size,
/// and ensemble inference speed against one float model, all in one run.
struct BenchEnsemble: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ensemble",
        abstract: "Bagging and boosting ensembles of a binary model vs one float twin: accuracy per K, artifact size, images/s.")

    @Option(help: "Binary member model.") var model: String = "bcnn"
    @Option(help: "Members (K).") var members: Int = 5
    @Option(help: "Epochs per member.") var epochs: Int = 5
    @Option(name: .customLong("float-epochs"), help: "Epochs of the float twin (default: same; 0 skips it).") var floatEpochs: Int?
    @Option(help: "Strategies to run.") var strategies: String = "bagging,boosting"
    @Option(name: .customLong("boosting-rule"), help: "Boosting rule.") var boostingRule: TrainingSpec.BoostingRule = .samme
    @Option(help: "Where each member starts: from scratch, or from the previous member's weights.") var start: TrainingSpec.Start = .independent
    @Option(help: "How boosting members see the sample weights: a fresh weighted resample each epoch, or a weighted loss.") var sampling: TrainingSpec.Sampling = .resample
    @Option(help: "Method of every member (docs/methods.md; its default options).") var method: MethodSpec.Name = .bnn
    @Flag(name: .customLong("real-first-last"), help: "Members keep their first-layer weights and classifier real (method_options.real_first_last).")
    var realFirstLast = false
    @Option(name: .customLong("keep-artifacts"), help: "Keep each strategy's artifact in this directory (for `benn eval`).") var keepArtifacts: String?
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }
    @OptionGroup var reportOptions: ReportOptions
    var report: String? { reportOptions.report }

    func run() throws {
        try reportingErrors {
            let threads = try Runtime.configure(threads: threads)
            var bench = EnsembleBench()
            bench.model = model
            bench.members = members
            bench.epochs = epochs
            bench.floatEpochs = floatEpochs
            bench.strategies = strategies
            bench.boostingRule = boostingRule
            bench.start = start
            bench.sampling = sampling
            bench.method = method
            bench.realFirstLast = realFirstLast
            bench.keepArtifacts = keepArtifacts
            bench.limit = dataOptions.limit
            bench.testLimit = dataOptions.testLimit
            bench.data = dataOptions.directory()
            let figures = try bench.run(threads: threads)
            if let report { try writeJSONReport(figures, to: report) }
        }
    }
}

/// `--boosting-rule samme_shrunk`: parsed and listed in the help by its spec name.
extension TrainingSpec.BoostingRule: ExpressibleByArgument {}
extension MethodSpec.Name: ExpressibleByArgument {}
extension MethodSpec.ShortcutPlacement: ExpressibleByArgument {}
extension TrainingSpec.Start: ExpressibleByArgument {}
extension TrainingSpec.Sampling: ExpressibleByArgument {}
