import ArgumentParser
import BennBench
import BennOptions

/// The ensemble table: accuracy per member count for bagging and boosting, artifact size,
/// and ensemble inference speed against one float model, all in one run.
struct BenchEnsemble: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ensemble",
        abstract: "Bagging and boosting ensembles of a binary model vs one float twin: accuracy per K, artifact size, images/s.")

    /// The benchmark's flags, declared once with its settings.
    @OptionGroup var bench: EnsembleBench
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var reportOptions: ReportOptions

    func run() throws { try runBench(threadOptions, reportOptions, bench.run) }
}
