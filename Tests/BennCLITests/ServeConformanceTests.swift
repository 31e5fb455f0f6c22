import XCTest
import Foundation

/// docs/SERVING.md checked with the stock client: `tests/python/serve_conformance.py` drives
/// a real `benn serve` with `tritonclient.http` (KServe V2), binary data on and off, and
/// compares its classes with `benn predict`'s.
final class ServeConformanceTests: ClusterTestCase {
    func testTritonClientAgainstBennServe() throws {
        let python = ConformanceTests.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return XCTFail("\(python) is missing: run scripts/setup (it creates the venv with tritonclient[http] for this test)")
        }
        let spec = try writeSpec("bagging", members: 3, epochs: 2)
        let trained = try run(["train", spec, "--threads", "1", "-o", "x.benn"])
        XCTAssertEqual(trained.status, 0, trained.output)

        let images = directory + "/data/t10k-images-idx3-ubyte"
        let predicted = try run(["predict", "x.benn", images, "--limit", "12", "--threads", "1"])
        XCTAssertEqual(predicted.status, 0, predicted.output)
        let rows = predicted.output.split(separator: "\n").filter { $0.contains("\t") }
        XCTAssertEqual(rows.count, 12, predicted.output)
        try rows.joined(separator: "\n").write(toFile: directory + "/expected.tsv", atomically: true, encoding: .utf8)

        try start(["serve", "x.benn", "--port", "0", "--threads", "1"], log: "serve.log")
        let text = try waitFor("listening on http://", in: "serve.log")
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("listening on http://") })
        let url = String(try XCTUnwrap(line.split(separator: " ").first { $0.hasPrefix("http://") }).dropFirst("http://".count))

        let (status, output) = try runPython("serve_conformance.py", [url, "x", images, directory + "/expected.tsv"], timeout: 120)
        XCTAssertEqual(status, 0, "serve_conformance.py failed:\n\(output)\nserver log:\n\(read("serve.log"))")
        XCTAssertTrue(output.contains("serve conformance: all checks passed"), output)
        XCTAssertFalse(read("serve.log").contains("Fatal error"), read("serve.log"))
    }
}
