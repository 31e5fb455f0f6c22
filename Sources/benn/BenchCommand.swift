import ArgumentParser
import BennBench
import BennOptions

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput; figures are ratios against a baseline run in the same process.",
        subcommands: [BenchTraining.self, BenchKernels.self, BenchInference.self, BenchMethods.self, BenchCluster.self, BenchEnsemble.self])
}

/// A benchmark run on `--threads` compute threads, its figures written to `--report`.
func runBench<Figures: Encodable>(_ threadOptions: ThreadOptions, _ reportOptions: ReportOptions,
                                  _ run: (Int) throws -> Figures) throws {
    try reportingErrors {
        let threads = try Runtime.configure(threads: threadOptions.threads)
        let figures = try run(threads)
        try reportOptions.write(figures)
    }
}

/// Trains each benchmark model and its float twin with the standard recipe and compares them.
struct BenchTraining: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training",
        abstract: "Train bmlp and bcnn (and their float twins fmlp, fcnn) with the standard recipe.")

    /// The benchmark's flags, declared once with its settings.
    @OptionGroup var bench: TrainingBench
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var reportOptions: ReportOptions

    func run() throws { try runBench(threadOptions, reportOptions, bench.run) }
}

/// Binary GEMM throughput per kernel path and thread count against sgemm on the same shapes.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Binary GEMM GMAC/s per path and thread count, and the ratio against BLAS sgemm on the same shapes.")

    @OptionGroup var reportOptions: ReportOptions

    func run() throws {
        try reportingErrors {
            _ = try Runtime.configure(threads: 2)
            let rows = KernelsBench.run()
            try reportOptions.write(rows)
        }
    }
}

/// Folded packed inference against the float twins on BLAS, in one run.
struct BenchInference: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference",
        abstract: "Images/s and latency of folded bcnn/bmlp vs float fcnn/fmlp at batch 1 and 256, 1 and 2 threads.")

    @Option(help: "Comma-separated models.") var models: String = "bcnn,fcnn,bmlp,fmlp"
    @OptionGroup var reportOptions: ReportOptions

    func run() throws {
        try reportingErrors {
            _ = try Runtime.configure(threads: 2)
            let figures = try InferenceBench.run(models: models)
            try reportOptions.write(figures)
        }
    }
}
