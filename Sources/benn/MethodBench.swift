import ArgumentParser
import BennBench
import BennOptions

/// The method table: each BNN method trained on the same model with the same recipe,
/// budget and seed, beside the model's float twin.
struct BenchMethods: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "methods",
        abstract: "Train each BNN method on bcnn and breal18 with one budget and seed; accuracy, samples/s, inference images/s.")

    /// Every flag, declared once with the benchmark's settings.
    @OptionGroup var bench: MethodBench

    func run() throws { try runBench(bench.threadOptions, bench.reportOptions, bench.run) }
}
