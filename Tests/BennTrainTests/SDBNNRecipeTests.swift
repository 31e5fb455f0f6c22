import XCTest
import BennData
import BennNN
import BennTensor
@testable import BennTrain

/// SD-BNN's ImageNet recipe as options: distillation from the float twin and the two steps
/// (real weights first). Both are off unless the spec asks.
final class SDBNNRecipeTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    func testRecipePartsAreOffByDefaultAndParse() throws {
        let plain = try SpecParser.parse("model: bcnn\nmethod: sdbnn\n").method
        XCTAssertFalse(plain.distills)
        XCTAssertFalse(plain.runsTwoSteps)
        let reactnet = try SpecParser.parse("model: bcnn\nmethod: reactnet\n").method
        XCTAssertTrue(reactnet.distills)
        XCTAssertTrue(reactnet.runsTwoSteps)
        XCTAssertEqual(reactnet.teacherSource, "train")
        let imagenet = try SpecParser.parse("""
            model: bcnn
            method: sdbnn
            method_options:
              teacher: twin.ckpt
              two_step: true
              first_step_epochs: 2
            """).method
        XCTAssertTrue(imagenet.distills)
        XCTAssertEqual(imagenet.teacherSource, "twin.ckpt")
        XCTAssertTrue(imagenet.runsTwoSteps)
        XCTAssertEqual(imagenet.firstStepEpochs, 2)
    }

    /// The student's labels are all shifted by one class; only a student that learns from
    /// the teacher (trained on the true labels, read from its checkpoint) agrees with it.
    func testStudentWithATeacherLearnsTheTeachersAnswersNotTheLabels() throws {
        let images = try syntheticImages(count: 192, seed: 8)
        let shifted = try LabeledImages(height: 8, width: 8, pixels: images.pixels,
                                        labels: images.labels.map { ($0 + 1) % 8 }, classNames: images.classNames)
        var teacherSpec = TrainingSpec()
        teacherSpec.model = "fcnn"
        teacherSpec.seed = 3
        teacherSpec.train.epochs = 3
        teacherSpec.train.batchSize = 16
        teacherSpec.train.learningRate = 0.01
        let teacher = try Trainer(spec: teacherSpec, inputShape: [8, 8, 1], classes: 10)
        try teacher.fit(train: DatasetView.all(images))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sdbnn-teacher-\(UUID().uuidString).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try teacher.checkpoint().write(to: file)
        let (_, taught, _) = Evaluation.logits(teacher.model, on: DatasetView.all(images))

        func agreement(teacherFile: String?) throws -> Double {
            var spec = teacherSpec
            spec.model = "tinycnn"
            spec.method.name = .sdbnn
            spec.method.teacher = teacherFile
            spec.train.epochs = 6
            let student = try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10)
            try student.fit(train: DatasetView.all(shifted))
            XCTAssertEqual(student.teacher != nil, teacherFile != nil)
            let (_, answers, _) = Evaluation.logits(student.model, on: DatasetView.all(images))
            return Double(zip(taught, answers).filter { $0 == $1 }.count) / Double(images.count)
        }
        let distilled = try agreement(teacherFile: file)
        let fromLabels = try agreement(teacherFile: nil)
        XCTAssertGreaterThan(distilled, 0.8)
        XCTAssertLessThan(fromLabels, 0.3, "a student of the shifted labels disagrees with the teacher")
    }

    func testTwoStepsTrainRealWeightsFirst() throws {
        var spec = TrainingSpec()
        spec.model = "tinycnn"
        spec.seed = 4
        spec.method.name = .sdbnn
        spec.method.twoStep = true
        spec.train.epochs = 3
        spec.train.batchSize = 16
        let trainer = try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10)
        XCTAssertEqual(trainer.firstStepEpochs, 1)
        let convolutions = trainer.model.layers.compactMap { $0 as? Conv2D }.filter { $0.quantizer != nil }
        XCTAssertFalse(convolutions.isEmpty)
        var binaryPerEpoch: [Bool] = []
        try trainer.fit(train: DatasetView.all(try syntheticImages(count: 64, seed: 2)), afterEpoch: { _ in
            binaryPerEpoch.append(convolutions.allSatisfy(\.binaryWeights))
        })
        XCTAssertEqual(binaryPerEpoch, [false, true, true])
        spec.method.twoStep = nil
        XCTAssertEqual(try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10).firstStepEpochs, 0)
    }
}
