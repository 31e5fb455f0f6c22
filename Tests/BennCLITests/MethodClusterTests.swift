import XCTest
import Foundation

/// Methods across the cluster: an ensemble of XNOR-Net members and a stand-alone SD-BNN
/// training queued together on one coordinator; each equals its in-process run byte for byte.
final class MethodClusterTests: ClusterTestCase {
    func methodSpec(_ name: String, model: String, method: String, options: String, strategy: String, members: Int,
                    optimizer: String = "adam") throws -> String {
        let spec = """
        model: \(model)
        method: \(method)
        \(options.isEmpty ? "" : "method_options:\n" + options)
        seed: 11
        threads: 1
        data:
          directory: \(directory!)/data
        train:
          epochs: 2
          batch_size: 16
          optimizer: \(optimizer)
          learning_rate: 0.01
        ensemble:
          strategy: \(strategy)
          members: \(members)
        """
        try spec.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        return name
    }

    func testSDBNNJobRunsBesideAnEnsembleAndBothEqualInProcessRuns() throws {
        let xnor = try methodSpec("xnor.yaml", model: "tinycnn", method: "xnor", options: "  gradient: full\n",
                                  strategy: "bagging", members: 2)
        let sdbnn = try methodSpec("sdbnn.yaml", model: "tinycnn", method: "sdbnn", options: "  activation_shift: se\n",
                                   strategy: "single", members: 1, optimizer: "sgd")
        var expected: [String: [UInt8]] = [:]
        for spec in [xnor, sdbnn] {
            let r = try run(["train", spec, "--threads", "1", "-o", "\(spec).inprocess.benn"])
            XCTAssertEqual(r.status, 0, r.output)
        }
        expected[xnor] = try reproducibleBytes("\(xnor).inprocess.benn")
        let endpoint = try startCoordinator()
        _ = try startWorker(endpoint, name: "a")
        _ = try startWorker(endpoint, name: "b")
        // Both specs are queued at once; the SD-BNN training is one independent job.
        let first = try start(["submit", xnor, "--coordinator", endpoint, "--wait", "-o", "xnor.benn"], log: "submit-xnor.log")
        let second = try start(["submit", sdbnn, "--coordinator", endpoint, "--wait", "-o", "sdbnn.benn"], log: "submit-sdbnn.log")
        first.waitUntilExit()
        second.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0, read("submit-xnor.log"))
        XCTAssertEqual(second.terminationStatus, 0, read("submit-sdbnn.log"))
        XCTAssertTrue(try reproducibleBytes("xnor.benn") == expected[xnor], "xnor ensemble differs from in-process")
        // A stand-alone training in-process writes a checkpoint; the cluster's artifact holds the
        // same tensors as its one member.
        let checkpoint = try SafeTensorsLite.read(directory + "/\(sdbnn).inprocess.benn")
        let artifact = try SafeTensorsLite.read(directory + "/sdbnn.benn")
        let names = checkpoint.header.keys.filter { !$0.hasPrefix("optimizer/") }
        XCTAssertGreaterThan(names.count, 10)
        for name in names {
            // The stem's plain-sign weights are stored as sign bits (docs/ARTIFACT.md).
            if artifact.header["m0.\(name).bits"] != nil { continue }
            XCTAssertTrue(try checkpoint.bytes(of: name) == artifact.bytes(of: "m0." + name), "SD-BNN tensor \(name) differs from in-process")
        }
        let inspect = try run(["inspect", "sdbnn.benn"])
        XCTAssertTrue(inspect.output.contains("sdbnn"), inspect.output)
    }
}

extension SafeTensorsLite {
    /// The raw bytes of one tensor.
    func bytes(of name: String) throws -> [UInt8] {
        guard let entry = header[name] as? [String: Any], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
            throw NSError(domain: "safetensors", code: 1, userInfo: [NSLocalizedDescriptionKey: "no tensor \(name)"])
        }
        return Array(data[offsets[0]..<offsets[1]])
    }
}
