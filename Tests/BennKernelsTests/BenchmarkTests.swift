import XCTest
@testable import BennKernels

final class BenchmarkTests: XCTestCase {
    /// A tiny smoke run of the benchmark; the full run happens only with
    /// BENN_KERNEL_BENCH=1 (use `-c release`), printing JSON.
    func testBenchmark() throws {
        if ProcessInfo.processInfo.environment["BENN_KERNEL_BENCH"] == "1" {
            let results = KernelBenchmark.run()
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            for r in results {
                print(String(format: "BENCH %@ threads=%d %dx%dx%d %.4f ms %.1f GMAC/s", r.path.rawValue, r.threads,
                             r.m, r.n, r.k, r.seconds * 1e3, r.gmacPerSecond))
            }
            print(String(decoding: try enc.encode(results), as: UTF8.self))
            return
        }
        let shapes = [KernelBenchmark.Shape(m: 13, n: 70, k: 65)]
        let results = KernelBenchmark.run(threadCounts: [1, 2], shapes: shapes, repetitions: 1,
                                          minRepetitionSeconds: 0)
        XCTAssertEqual(results.count, BinaryKernels.supported.count * 2)
        XCTAssertTrue(results.allSatisfy { $0.seconds > 0 && $0.gmacPerSecond > 0 })
        _ = try JSONEncoder().encode(results)
    }
}
