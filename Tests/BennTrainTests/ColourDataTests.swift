import Foundation
import XCTest
import BennCore
import BennData
import BennNN
import BennTensor
@testable import BennTrain

/// 32x32x3 images whose class is a bright band in one channel, for training a step of
/// each model on colour data.
func colourImages(count: Int, seed: UInt64) throws -> LabeledImages {
    var pixels = [UInt8](repeating: 0, count: count * 3072)
    var labels = [UInt8](repeating: 0, count: count)
    var state = seed
    for i in 0..<count {
        state = state &* 6_364_136_223_846_793_005 &+ 1
        let label = Int(state >> 60) % 10
        labels[i] = UInt8(label)
        for p in 0..<3072 { pixels[i * 3072 + p] = UInt8(truncatingIfNeeded: (state >> UInt64(p % 56)) & 63) }
        for x in 0..<32 { pixels[i * 3072 + (label * 3 * 32 + x) * 3 + label % 3] = 230 }
    }
    return try LabeledImages(height: 32, width: 32, channels: 3, pixels: pixels, labels: labels, classNames: CIFAR.cifar10ClassNames)
}

final class ColourDataTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    /// Every zoo model family builds for 32x32x3 and trains an epoch with CIFAR's
    /// augmentations (crop with padding 4, flips).
    func testZooModelsTrainOnColourImages() throws {
        let train = DatasetView.all(try colourImages(count: 16, seed: 1))
        let test = DatasetView.all(try colourImages(count: 8, seed: 2))
        for model in ["tinymlp", "tinycnn", "tinyres", "bmlp", "bcnn", "fcnn"] {
            var spec = TrainingSpec()
            spec.model = model
            spec.train.epochs = 1
            spec.train.batchSize = 8
            spec.data.cropPadding = 4
            spec.data.flip = true
            let trainer = try Trainer(spec: spec, inputShape: train.base.imageShape, classes: 10)
            XCTAssertEqual(trainer.model.description.inputShape, [32, 32, 3], model)
            try trainer.fit(train: train, test: test)
            XCTAssertEqual(trainer.completedEpochs, 1, model)
            XCTAssertTrue(trainer.history[0].loss.isFinite, model)
            // Evaluation runs the colour test images through the trained model (a finite loss:
            // every image's logits were computed).
            XCTAssertTrue(trainer.evaluate(test).loss.isFinite, model)
        }
    }

    func testSpecChoosesFormatAndLabels() throws {
        let spec = try SpecParser.parse("""
            model: tinycnn
            data:
              directory: /tmp/cifar-100-binary
              format: cifar100
              labels: coarse
            """)
        XCTAssertEqual(spec.data.format, .cifar100)
        XCTAssertEqual(spec.data.labels, .coarse)
        XCTAssertThrowsError(try SpecParser.parse("data:\n  format: jpeg\n")) { error in
            XCTAssertTrue("\(error)".contains("auto, idx, cifar10, cifar100, npz, npy"), "\(error)")
        }
        // Defaults are not written: an IDX spec encodes as before the keys existed, and
        // reads back from such an encoding.
        let json = String(decoding: try JSONEncoder().encode(TrainingSpec()), as: UTF8.self)
        XCTAssertFalse(json.contains("format"), json)
        XCTAssertFalse(json.contains("labels"), json)
        XCTAssertEqual(try JSONDecoder().decode(TrainingSpec.self, from: Data(json.utf8)), TrainingSpec())
        let encoded = try JSONEncoder().encode(spec)
        XCTAssertEqual(try JSONDecoder().decode(TrainingSpec.self, from: encoded), spec)
    }

    func testLoadDispatchesOnTheFormat() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("benn-colour-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func record(_ coarse: UInt8, _ fine: UInt8) -> [UInt8] { [coarse, fine] + [UInt8](repeating: fine, count: 3072) }
        try Data(record(1, 50) + record(2, 60)).write(to: URL(fileURLWithPath: dir + "/train.bin"))
        try Data(record(3, 70)).write(to: URL(fileURLWithPath: dir + "/test.bin"))
        var spec = TrainingSpec()
        spec.data.directory = dir
        XCTAssertEqual(try TrainingData.load(spec: spec).train.labels, [50, 60])
        spec.data.labels = .coarse
        let coarse = try TrainingData.load(spec: spec)
        XCTAssertEqual(coarse.train.labels, [1, 2])
        XCTAssertEqual(coarse.test.classCount, 20)
        XCTAssertEqual(try TrainingData.load(directory: dir, split: .test, format: .cifar100, labels: .coarse).labels, [3])
        XCTAssertEqual(try TrainingData.files(spec: spec).map { ($0 as NSString).lastPathComponent }, ["train.bin", "test.bin"])
        spec.data.format = .cifar10
        XCTAssertThrowsError(try TrainingData.load(spec: spec)) { error in
            XCTAssertEqual("\(error)", "\(dir): no CIFAR-10 training batch (data_batch_1.bin) in the directory")
        }
    }
}
