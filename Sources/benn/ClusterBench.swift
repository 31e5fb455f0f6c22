import ArgumentParser
import BennBench
import Foundation

/// Cluster figures: scaling with real workers, coordinator dispatch latency, and many
/// simulated protocol-only workers.
struct BenchCluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Scaling 1 vs 2 workers, dispatch latency, and N simulated workers against a real coordinator process.")

    @Option(help: "Comma-separated simulated worker counts (0: skip).") var simulated: String = "100,1000"
    @Option(name: .customLong("simulated-jobs"), help: "Jobs per simulated run.") var simulatedJobs: Int = 400
    @Flag(name: .customLong("simulated-ready-after-ack"),
          help: "Simulated workers ask for their next job only when their result is ACKed (older workers did), instead of with the result.")
    var readyAfterAck = false
    @Flag(name: .customLong("skip-scaling")) var skipScaling = false
    @Option(name: .customLong("scaling-limit"), help: "Training samples per member in the scaling run (full-size members by default; fewer make the fixed per-spec work dominate).") var scalingLimit: Int = 60000
    @Option(name: .customLong("scaling-runs"), help: "Comma-separated WORKERSxTHREADS cluster runs of the scaling spec.")
    var scalingRuns: String = "1x2,2x1,1x1"
    @Flag(name: .customLong("skip-ceiling"), help: "Skip timing one member in-process with 1 and 2 threads.") var skipCeiling = false
    @Option(name: .customLong("latency-members"),
            help: "Members of the dispatch-latency run (bmlp results of 40 MB, short training; 0: skip).")
    var latencyMembers: Int = 16
    @Option(name: .customLong("latency-runs"), help: "Comma-separated WORKERSxTHREADS runs of the latency spec.")
    var latencyRuns: String = "1x2,2x1"
    @Option(name: .customLong("transfer-runs"),
            help: "Fresh workers fetching the Fashion-MNIST files from a coordinator (a new cluster each), timed from their logs and set against raw libzmq on loopback (0: skip).")
    var transferRuns: Int = 3
    @Option(name: .customLong("cluster-binary"), help: "Run the coordinators and workers from this benn executable (to compare builds in one command).")
    var clusterBinary: String?
    @OptionGroup var reportOptions: ReportOptions

    func run() throws {
        try reportingErrors {
            var bench = ClusterBench()
            bench.simulated = simulated
            bench.simulatedJobs = simulatedJobs
            bench.readyAfterAck = readyAfterAck
            bench.skipScaling = skipScaling
            bench.scalingLimit = scalingLimit
            bench.scalingRuns = scalingRuns
            bench.skipCeiling = skipCeiling
            bench.latencyMembers = latencyMembers
            bench.latencyRuns = latencyRuns
            bench.transferRuns = transferRuns
            let exe = clusterBinary ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
            let figures = try bench.run(executable: exe)
            try reportOptions.write(figures)
        }
    }
}
