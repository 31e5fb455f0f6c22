import XCTest
import BennData
import BennNN
import BennTensor
import BennTrain

/// A small synthetic 8x8 dataset whose class is written into the image (a bright row),
/// so a tiny model can learn it in a few epochs.
func syntheticImages(count: Int, seed: UInt64) throws -> LabeledImages {
    var pixels = [UInt8](repeating: 0, count: count * 64)
    var labels = [UInt8](repeating: 0, count: count)
    var state = seed
    for i in 0..<count {
        state = state &* 6_364_136_223_846_793_005 &+ 1
        let label = Int(state >> 60) % 8
        labels[i] = UInt8(label)
        for x in 0..<8 { pixels[i * 64 + label * 8 + x] = 200 + UInt8((state >> UInt64(x * 4)) & 31) }
        for p in 0..<64 where pixels[i * 64 + p] == 0 { pixels[i * 64 + p] = UInt8((state >> UInt64(p % 48)) & 63) }
    }
    return try LabeledImages(height: 8, width: 8, pixels: pixels, labels: labels, classNames: (0..<10).map(String.init))
}

final class TrainerTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    func tinySpec(model: String = "tinymlp", epochs: Int = 2) -> TrainingSpec {
        var s = TrainingSpec()
        s.model = model
        s.seed = 11
        s.train.epochs = epochs
        s.train.batchSize = 16
        s.train.learningRate = 0.01
        return s
    }

    func train(_ spec: TrainingSpec, _ data: DatasetView) throws -> Trainer {
        let t = try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10)
        try t.fit(train: data)
        return t
    }

    /// Images of another size than the model was built for are refused before the first
    /// batch is filled (the batch buffers are sized for the model's input), test images too.
    func testImagesOfAnotherShapeAreRefused() throws {
        let small = DatasetView.all(try syntheticImages(count: 32, seed: 1))
        let trainer = try Trainer(spec: tinySpec(), inputShape: [28, 28, 1], classes: 10)
        XCTAssertThrowsError(try trainer.fit(train: small)) { error in
            XCTAssertTrue("\(error)".contains("the training images are 8x8x1 with 10 classes, but model 'tinymlp' was built for 28x28x1 with 10"), "\(error)")
        }
        XCTAssertEqual(trainer.completedEpochs, 0)
        let fitting = try Trainer(spec: tinySpec(), inputShape: [8, 8, 1], classes: 10)
        let large = DatasetView.all(try LabeledImages(height: 9, width: 9, pixels: [UInt8](repeating: 0, count: 81 * 4), labels: [0, 1, 2, 3],
                                                      classNames: (0..<10).map(String.init)))
        XCTAssertThrowsError(try fitting.fit(train: small, test: large)) { error in
            XCTAssertTrue("\(error)".contains("the test images are 9x9x1"), "\(error)")
        }
    }

    func testLearnsSyntheticTask() throws {
        let images = try syntheticImages(count: 256, seed: 1)
        let trainer = try train(tinySpec(epochs: 4), DatasetView.all(images))
        XCTAssertGreaterThan(trainer.evaluate(DatasetView.all(try syntheticImages(count: 128, seed: 2))).accuracy, 0.9)
        XCTAssertEqual(trainer.history.count, 4)
        XCTAssertLessThan(trainer.history[3].loss, trainer.history[0].loss)
    }

    func testSameSpecGivesBitIdenticalModels() throws {
        let data = DatasetView.all(try syntheticImages(count: 96, seed: 3))
        let a = try train(tinySpec(model: "tinycnn"), data)
        let b = try train(tinySpec(model: "tinycnn"), data)
        XCTAssertEqual(a.model.namedTensors.map(\.tensor), b.model.namedTensors.map(\.tensor))
        var other = tinySpec(model: "tinycnn")
        other.seed = 12
        let c = try train(other, data)
        XCTAssertNotEqual(a.model.namedTensors.map(\.tensor), c.model.namedTensors.map(\.tensor))
    }

    func testResumeAfterInterruption() throws {
        let data = DatasetView.all(try syntheticImages(count: 80, seed: 4))
        let straight = try train(tinySpec(epochs: 3), data)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(getpid()).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try Trainer(spec: tinySpec(epochs: 3), inputShape: [8, 8, 1], classes: 10)
        XCTAssertThrowsError(try first.fit(train: data, afterEpoch: { t in
            try t.checkpoint().write(to: path)
            if t.completedEpochs == 1 { throw CancellationError() }
        }))
        let resumed = try Trainer(spec: tinySpec(epochs: 3), inputShape: [8, 8, 1], classes: 10)
        try resumed.resume(from: try Checkpoint.read(from: path))
        XCTAssertEqual(resumed.completedEpochs, 1)
        try resumed.fit(train: data)
        XCTAssertEqual(resumed.model.namedTensors.map(\.tensor), straight.model.namedTensors.map(\.tensor))
        XCTAssertEqual(resumed.history.count, 3)
    }

    /// A checkpoint of another model is refused before any tensor loads, naming the layer
    /// that differs: here the only change is a Bi-Real ResNet's downsampling shortcut, under
    /// one model name, as after a change of a method's default.
    func testResumeRefusesAnotherModelNamingTheLayer() throws {
        var spec = tinySpec(model: "tinyres")
        spec.method = MethodSpec(.bireal)
        spec.method.resnetDownsample = .strided
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("resume-other-\(getpid()).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10).checkpoint().write(to: path)
        spec.method.resnetDownsample = .averagePool
        let other = try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10)
        let before = other.model.namedTensors.map(\.tensor)
        XCTAssertThrowsError(try other.resume(from: try Checkpoint.read(from: path))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("('tinyres-bireal')"), message)
            XCTAssertTrue(message.contains(".short0 is conv(filters: 16, kernel: 1, stride: 2"), message)
            XCTAssertTrue(message.contains("in the checkpoint, averagePoolCoveringEdges(size: 2) in the spec"), message)
        }
        XCTAssertEqual(other.completedEpochs, 0)
        XCTAssertEqual(other.model.namedTensors.map(\.tensor), before)
    }

    func testWeightedLossIgnoresZeroWeightSamples() throws {
        let images = try syntheticImages(count: 64, seed: 5)
        // Zero weight on every sample of classes >= 4: the model never learns them.
        let weights = images.labels.map { $0 < 4 ? Float(1) : 0 }
        let view = try DatasetView.subset(images, indices: Array(0..<64), weights: weights)
        let trainer = try train(tinySpec(epochs: 6), view)
        let test = try syntheticImages(count: 256, seed: 6)
        let (_, predictions, _) = Evaluation.logits(trainer.model, on: DatasetView.all(test))
        let learned = zip(predictions, test.labels).filter { $1 < 4 }.filter { Int($0) == Int($1) }.count
        let unseen = zip(predictions, test.labels).filter { $1 >= 4 }.filter { Int($0) == Int($1) }.count
        let learnedTotal = test.labels.filter { $0 < 4 }.count, unseenTotal = test.labels.filter { $0 >= 4 }.count
        XCTAssertGreaterThan(Double(learned) / Double(learnedTotal), 0.8)
        XCTAssertLessThan(Double(unseen) / Double(unseenTotal), 0.3)
    }
}

import Foundation
