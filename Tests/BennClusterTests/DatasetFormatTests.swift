import XCTest
@testable import BennCluster
import BennCore
import BennData
import BennEnsemble
import BennTrain
import Foundation

/// The coordinator registers the files a spec's data format reads, by name and hash, and a
/// worker's cache folder of them loads as the coordinator's copy does.
final class DatasetFormatTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dformat-\(getpid())-\(abs(name.hashValue))").path
        try FileManager.default.createDirectory(atPath: directory + "/cifar", withIntermediateDirectories: true)
        // CIFAR-10 binary batches: a label byte, then the red, green and blue planes.
        for (name, count, first) in [("data_batch_1.bin", 6, 0), ("data_batch_2.bin", 4, 6), ("test_batch.bin", 5, 10)] {
            var bytes: [UInt8] = []
            for i in first..<(first + count) { bytes += [UInt8(i % 10)] + (0..<3072).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ i) } }
            try Data(bytes).write(to: URL(fileURLWithPath: directory + "/cifar/" + name))
        }
        try Data("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n".utf8).write(to: URL(fileURLWithPath: directory + "/cifar/batches.meta.txt"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func testCIFARSpecRegistersItsFilesWithTheirHashes() throws {
        var spec = TrainingSpec()
        spec.model = "tinycnn"
        spec.data.directory = directory + "/cifar"
        let run = SpecRun(id: "r", spec: spec, output: nil, state: EnsembleState(spec: spec, trainingCount: 0, classes: 0))
        let server = DatasetServer()
        try CoordinatorWork.prepare(run, datasets: server)
        let manifest = try XCTUnwrap(run.dataset)
        XCTAssertEqual(manifest.files.map(\.name), ["data_batch_1.bin", "data_batch_2.bin", "test_batch.bin", "batches.meta.txt"])
        for file in manifest.files {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/cifar/" + file.name)))
            XCTAssertEqual(file.sha256, SHA256.hexDigest(bytes), file.name)
            XCTAssertEqual(file.size, bytes.count, file.name)
            XCTAssertEqual(server.chunk(sha256: file.sha256, offset: 0, length: bytes.count), Array(bytes.prefix(Wire.chunkBytes)))
        }
        XCTAssertEqual(run.model?.inputShape, [32, 32, 3])
        XCTAssertEqual(run.classNames, ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
        XCTAssertEqual(run.data?.training.count, 10)

        // A worker stores them under their names and loads the same images.
        let cache = try DatasetCache(directory: directory + "/cache")
        for file in manifest.files {
            try cache.store([UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/cifar/" + file.name))), as: file, in: manifest)
        }
        XCTAssertTrue(cache.isComplete(manifest))
        let worker = try TrainingData.load(directory: cache.folder(for: manifest), format: spec.data.format, labels: spec.data.labels)
        let coordinator = try TrainingData.load(spec: spec)
        XCTAssertEqual(worker.train.contentHash, coordinator.train.contentHash)
        XCTAssertEqual(worker.test, coordinator.test)
    }
}
