import ArgumentParser
import BennBench
import BennServe
import BennTensor
import Dispatch
import Foundation

/// `benn serve ARTIFACT`: an HTTP server answering predictions (docs/SERVING.md).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve an ensemble artifact over HTTP (Open Inference Protocol / KServe V2 subset, PNG, metrics).")
    @Argument(help: "An ensemble artifact (.benn).") var artifact: String
    @Option(help: "Address to listen on (loopback by default; 0.0.0.0 for every interface).") var host = "127.0.0.1"
    @Option(help: "Port (0 picks a free one; the URL printed says which). Default: 8080, or 0 with --bench.") var port: Int?
    @Option(help: "Compute threads per inference call (default: all cores).") var threads: Int?
    @Option(help: "Largest request body in bytes; larger ones get 413.") var maxBodyBytes = 64 << 20
    @Option(help: "Model name in /v2/models/<name> (default: the file name without .benn).") var name: String?
    @Flag(help: "Measure requests/s and images/s over loopback against in-process inference, then exit.") var bench = false
    @Option(help: "With --bench: seconds per batch size.") var benchSeconds = 3.0
    @Option(help: "With --bench: concurrent keep-alive connections.") var benchConnections = 1
    @Option(help: "With --bench: batch sizes, comma-separated.") var benchBatches = "1,256"

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if maxBodyBytes < 1 { throw ValidationError("--max-body-bytes must be at least 1") }
        if bench && (benchSeconds <= 0 || benchSeconds > 600 || benchConnections < 1 || benchConnections > 64) {
            throw ValidationError("--bench-seconds must be in (0, 600] and --bench-connections in 1...64")
        }
    }

    func run() throws {
        try reportingErrors {
            let threads = try Runtime.configure(threads: threads)
            let model = try ServedModel(path: artifact, name: name, threads: threads)
            let options = {
                var o = ServeOptions()
                o.host = host
                o.port = port ?? (bench ? 0 : 8080)
                o.maxBodyBytes = maxBodyBytes
                o.handleSignals = !bench
                return o
            }()
            let batches = try benchBatches.split(separator: ",").map { s -> Int in
                guard let b = Int(s.trimmingCharacters(in: .whitespaces)), b >= 1 else { throw ValidationError("--bench-batches: '\(s)' is not a batch size") }
                return b
            }
            let outcome = Outcome()
            Task {
                do {
                    let server = try await BennServer.start(model: model, options: options)
                    outcome.set(server: server)
                    let m = model.manifest
                    Console.log("serving \(model.name) (\(m.strategy.rawValue), \(model.members) of \(m.members.count) members, "
                        + "\(m.aggregation.rawValue), \(threads) threads)")
                    Serve.say("listening on \(server.url) (POST \(server.url)/v2/models/\(model.name)/infer, GET /health, GET /metrics)")
                    if !options.handleSignals { outcome.done.signal() }
                    try await server.wait()
                    if options.handleSignals { Console.log("stopped") }
                } catch {
                    outcome.set(error)
                }
                outcome.done.signal()
            }
            outcome.done.wait()
            if bench, let server = outcome.server {
                // The load generator blocks: it runs here, off Swift's cooperative threads,
                // which the server needs.
                let host = options.host == "0.0.0.0" ? "127.0.0.1" : options.host
                let result = Result {
                    try ServeBenchmark.run(model: model, port: server.port, host: host, batches: batches,
                                           connections: benchConnections, seconds: benchSeconds, log: { Serve.say($0) })
                }
                Task { await server.stop() }
                outcome.done.wait()  // the server task ends
                Serve.printTable(try result.get())
            }
            if let e = outcome.error { throw e }
        }
    }

    /// A line on standard output, unbuffered (scripts and tests read the URL from it).
    static func say(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        bytes.withUnsafeMutableBytes { b in _ = write(1, b.baseAddress, b.count) }
    }

    static func printTable(_ rows: [ServeBenchmark.Row]) {
        say("batch  conns  requests/s   images/s  direct images/s  served/direct  request bytes")
        for r in rows {
            say(pad("\(r.batch)", 5) + pad("\(r.connections)", 7) + pad(String(format: "%.1f", r.requestsPerSecond), 12)
                  + pad(String(format: "%.0f", r.imagesPerSecond), 11) + pad(String(format: "%.0f", r.directImagesPerSecond), 17)
                  + pad(String(format: "%.3f", r.ratio), 15) + pad("\(r.requestBytes)", 15))
        }
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    /// The server (once listening) and the task's error, handed back to the (blocked) main thread.
    final class Outcome: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var stored: (any Error)?
        private var handle: ServeHandle?
        func set(_ e: any Error) { lock.withLock { stored = e } }
        func set(server: ServeHandle) { lock.withLock { handle = server } }
        var error: (any Error)? { lock.withLock { stored } }
        var server: ServeHandle? { lock.withLock { handle } }
    }
}
