import XCTest
import BennTensor
import BennTrain

final class CheckpointTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(getpid())-\(name.hashValue)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        Parallelism.threads = 1
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func writeTrained() throws -> (String, Trainer) {
        var spec = TrainingSpec()
        spec.model = "tinycnn"
        spec.train.epochs = 1
        spec.train.batchSize = 8
        let t = try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10)
        try t.fit(train: .all(try syntheticImages(count: 24, seed: 1)))
        let path = directory + "/m.ckpt"
        try t.checkpoint().write(to: path)
        return (path, t)
    }

    func testRoundTripKeepsEverything() throws {
        let (path, trainer) = try writeTrained()
        let c = try Checkpoint.read(from: path)
        XCTAssertEqual(c.spec, trainer.spec)
        XCTAssertEqual(c.model, trainer.model.description)
        XCTAssertEqual(c.completedEpochs, 1)
        XCTAssertEqual(c.history, trainer.history)
        let model = try c.makeModel()
        XCTAssertEqual(model.namedTensors.map(\.tensor), trainer.model.namedTensors.map(\.tensor))
        XCTAssertEqual(Set(c.optimizerState.keys), Set(trainer.optimizer.state(for: trainer.model.parameters).map(\.name)))
    }

    func testEqualModelsGiveEqualFiles() throws {
        let (path, trainer) = try writeTrained()
        let again = directory + "/again.ckpt"
        try trainer.checkpoint().write(to: again)
        XCTAssertEqual(FileManager.default.contents(atPath: path), FileManager.default.contents(atPath: again))
    }

    func testCorruptedByteIsReportedAsChecksumMismatch() throws {
        let (path, _) = try writeTrained()
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count - 100] ^= 0x40
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        XCTAssertThrowsError(try Checkpoint.read(from: path)) { e in
            XCTAssertTrue("\(e)".contains("checksum mismatch"), "\(e)")
            XCTAssertTrue("\(e)".hasPrefix(path), "\(e)")
        }
    }

    func testTruncatedAndForeignFiles() throws {
        let (path, _) = try writeTrained()
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes[0..<(bytes.count / 2)])))
        XCTAssertThrowsError(try Checkpoint.read(from: path)) { e in XCTAssertTrue("\(e)".contains("truncated"), "\(e)") }

        let foreign = directory + "/foreign.bin"
        XCTAssertTrue(FileManager.default.createFile(atPath: foreign, contents: Data("hello, this is not a model".utf8)))
        XCTAssertThrowsError(try Checkpoint.read(from: foreign)) { e in XCTAssertTrue("\(e)".contains("not a safetensors file"), "\(e)") }

        // A valid safetensors file written by someone else.
        var other = SafeTensors()
        other.set("w", Tensor(shape: [2], storage: [1, 2]))
        let otherPath = directory + "/other.safetensors"
        try other.write(to: otherPath)
        XCTAssertThrowsError(try Checkpoint.read(from: otherPath)) { e in XCTAssertTrue("\(e)".contains("not a benn checkpoint"), "\(e)") }

        XCTAssertThrowsError(try Checkpoint.read(from: directory + "/missing.ckpt")) { e in XCTAssertTrue("\(e)".contains("file not found"), "\(e)") }
    }

    func testWrongFormatVersionIsRefused() throws {
        let (path, _) = try writeTrained()
        var file = try SafeTensors.read(from: path)
        file.metadata["format_version"] = "99"
        try file.write(to: path)
        XCTAssertThrowsError(try Checkpoint.read(from: path)) { e in XCTAssertTrue("\(e)".contains("version 99 is not supported"), "\(e)") }
    }

    func testSafeTensorsLayoutIsStandard() throws {
        var f = SafeTensors()
        f.set("a", Tensor(shape: [1, 2], storage: [1.5, -2]))
        f.metadata["k"] = "v"
        let bytes = f.encoded()
        var n = 0
        for i in (0..<8).reversed() { n = n << 8 | Int(bytes[i]) }
        XCTAssertEqual((8 + n) % 8, 0, "data starts aligned")
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
        let a = header["a"] as! [String: Any]
        XCTAssertEqual(a["dtype"] as? String, "F32")
        XCTAssertEqual(a["shape"] as? [Int], [1, 2])
        XCTAssertEqual(a["data_offsets"] as? [Int], [0, 8])
        XCTAssertEqual((header["__metadata__"] as! [String: String])["k"], "v")
        XCTAssertEqual(Array(bytes[(8 + n)...]), [0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0])
    }
}

import Foundation
