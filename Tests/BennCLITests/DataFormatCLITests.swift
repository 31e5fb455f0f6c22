import XCTest
import Foundation

/// `benn train`, `eval` and `check` on CIFAR-format data.
extension CLITests {
    /// Writes a CIFAR-10 binary directory (`data_batch_1.bin`, `data_batch_2.bin`,
    /// `test_batch.bin`): records of a label byte and the red, green and blue planes, the
    /// class drawn as a bright band in one channel.
    func writeCIFAR10(trainCount: Int = 40, testCount: Int = 20) throws -> String {
        let dir = directory + "/cifar-10-batches-bin"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func record(_ i: Int) -> [UInt8] {
            let label = (i * 7 + 3) % 10
            var planes = [UInt8](repeating: 0, count: 3072)
            for p in 0..<3072 { planes[p] = UInt8(truncatingIfNeeded: p &* 5 &+ i) & 63 }
            for x in 0..<32 { planes[(label % 3) * 1024 + (label * 3) * 32 + x] = 250 }
            return [UInt8(label)] + planes
        }
        let half = trainCount / 2
        try Data((0..<half).flatMap(record)).write(to: URL(fileURLWithPath: dir + "/data_batch_1.bin"))
        try Data((half..<trainCount).flatMap(record)).write(to: URL(fileURLWithPath: dir + "/data_batch_2.bin"))
        try Data((trainCount..<(trainCount + testCount)).flatMap(record)).write(to: URL(fileURLWithPath: dir + "/test_batch.bin"))
        return dir
    }

    func testTrainAndEvalOnCIFAR10() throws {
        let data = try writeCIFAR10()
        let model = directory + "/c.ckpt", report = directory + "/c.json"
        let r = try run(["train", "--model", "tinycnn", "--epochs", "1", "--batch-size", "8", "--data", data, "--threads", "1",
                         "--set", "data.crop_padding=4", "--set", "data.flip=true", "-o", model, "--report", report])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("test accuracy:"), r.stdout)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        let accuracy = json["finalTestAccuracy"] as! Double
        let e = try run(["eval", model, "--threads", "1"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("test accuracy: \(String(format: "%.2f%%", accuracy * 100))"), e.stdout)
        XCTAssertTrue(e.stdout.contains("20 samples"), e.stdout)
        // A truncated batch ends the run with one line naming it, before any training.
        let batch = data + "/data_batch_2.bin"
        let bytes = FileManager.default.contents(atPath: batch)!
        FileManager.default.createFile(atPath: batch, contents: bytes.prefix(bytes.count - 1))
        assertCleanFailure(try run(["train", "--model", "tinycnn", "--data", data, "-o", directory + "/x.ckpt"]),
                           mentions: "\(batch): truncated batch file: 61459 bytes is 19 whole 3073-byte records and 3072 bytes over")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/x.ckpt"))
        // A format that does not match the files.
        assertCleanFailure(try run(["train", "--model", "tinycnn", "--data", data, "--set", "data.format=cifar100"]),
                           mentions: "\(data)/train.bin: file not found (the CIFAR-100 training file)")
    }

    func testCheckShowsTheDataKeys() throws {
        let spec = directory + "/spec.yaml"
        try "model: tinycnn\ndata:\n  directory: /data/cifar-100-binary\n  format: cifar100\n  labels: coarse\n"
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let r = try run(["check", spec])
        XCTAssertEqual(r.status, 0, r.stderr)
        for line in ["data.format: cifar100", "data.labels: coarse"] {
            XCTAssertTrue(r.stdout.contains(line + "\n"), "\(line) not in:\n\(r.stdout)")
        }
        let bad = try run(["check", spec, "--set", "data.format=jpeg"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("auto, idx, cifar10, cifar100, npz, npy"), bad.stderr)
        let schema = try run(["check", "--schema"])
        XCTAssertTrue(schema.stdout.contains("| `data.format` | choice | auto, idx, cifar10, cifar100, npz, npy | `auto` |"), schema.stdout)
    }
}
