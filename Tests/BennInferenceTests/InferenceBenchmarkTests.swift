import XCTest
import Foundation
import BennInference

final class InferenceBenchmarkTests: XCTestCase {
    /// A quick smoke run of the benchmark on small models (always), and the full benchmark
    /// printed as JSON when `BENN_INFERENCE_BENCHMARK=1` (use a release build:
    /// `swift test -c release -Xswiftc -enable-testing --filter InferenceBenchmarkTests`).
    func testBenchmarkRunsAndEncodes() throws {
        let report = try InferenceBenchmark.run(models: ["tinymlp"], batches: [1, 4], threadCounts: [1, 2],
                                                repetitions: 1, minRepetitionSeconds: 0)
        XCTAssertEqual(report.results.count, 4)
        XCTAssertTrue(report.results.allSatisfy { $0.folded && $0.imagesPerSecond > 0 })
        let decoded = try JSONDecoder().decode(InferenceBenchmark.Report.self, from: JSONEncoder().encode(report))
        XCTAssertEqual(decoded, report)
    }

    func testFullBenchmarkWhenRequested() throws {
        guard ProcessInfo.processInfo.environment["BENN_INFERENCE_BENCHMARK"] == "1" else {
            throw XCTSkip("set BENN_INFERENCE_BENCHMARK=1 to run the full inference benchmark")
        }
        let env = ProcessInfo.processInfo.environment
        let models = env["BENN_INFERENCE_MODELS"].map { $0.split(separator: ",").map(String.init) }
        let report = try InferenceBenchmark.run(models: models ?? InferenceBenchmark.defaultModels)
        for r in report.results {
            print(String(format: "%@ %@ batch %4d threads %d: %10.1f images/s  %8.3f ms/batch", r.model,
                         r.folded ? "folded" : "float ", r.batch, r.threads, r.imagesPerSecond, r.millisecondsPerBatch))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }
}
