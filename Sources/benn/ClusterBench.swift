import ArgumentParser
import BennBench
import BennOptions
import Foundation

/// Cluster figures: scaling with real workers, coordinator dispatch latency, and many
/// simulated protocol-only workers.
struct BenchCluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Scaling 1 vs 2 workers, dispatch latency, and N simulated workers against a real coordinator process.")

    /// The benchmark's flags, declared once with its settings.
    @OptionGroup var bench: ClusterBench
    @Option(name: .customLong("cluster-binary"), help: "Run the coordinators and workers from this benn executable (to compare builds in one command).")
    var clusterBinary: String?
    @OptionGroup var reportOptions: ReportOptions

    func run() throws {
        try reportingErrors {
            let exe = clusterBinary ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
            let figures = try bench.run(executable: exe)
            try reportOptions.write(figures)
        }
    }
}
