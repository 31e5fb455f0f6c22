import XCTest
import BennData
import BennNN
import BennRandom
import BennTensor
@testable import BennTrain

final class TeacherTargetsTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    /// The teacher's softmax for one image, run alone (batch of one).
    func probabilities(of teacher: Sequential, image: Int, in images: LabeledImages) throws -> [Float] {
        var rng = SeededGenerator(seed: 0)
        let batches = try DatasetView(base: images, indices: [image]).batches(batchSize: 1, shuffle: false, rng: &rng)
        var inputs = [Float](repeating: 0, count: 64), labels = [Int32](repeating: 0, count: 1)
        batches.fill(batch: 0, inputs: &inputs, labels: &labels)
        let logits = teacher.forward(Tensor(shape: [1, 8, 8, 1], storage: inputs), training: false)
        return Array(Loss.softmax(logits).storage)
    }

    func testRowsMatchTheTeacherAndEachSampleIsComputedOnce() throws {
        let images = try syntheticImages(count: 40, seed: 5)
        var spec = TrainingSpec()
        spec.model = "tinycnn"
        let teacher = try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10).model
        var targets = TeacherTargets(base: images, classes: 10)

        // A resample-like view: repeats and any order.
        try targets.cover(DatasetView(base: images, indices: [7, 7, 3, 0, 3, 39]), teacher: teacher)
        XCTAssertEqual(targets.computedRows, 4)
        let rows = targets.rows([39, 7, 0, 3])
        for (r, image) in [39, 7, 0, 3].enumerated() {
            let expected = try probabilities(of: teacher, image: image, in: images)
            for j in 0..<10 { XCTAssertEqual(rows[r * 10 + j], expected[j], accuracy: 1e-6, "image \(image) class \(j)") }
        }

        // A later epoch's view computes only the samples it adds.
        try targets.cover(DatasetView(base: images, indices: [3, 12, 7, 12]), teacher: teacher)
        XCTAssertEqual(targets.computedRows, 5)
        let again = try probabilities(of: teacher, image: 12, in: images)
        XCTAssertEqual(Array(targets.rows([12]).storage), again, accuracy: 1e-6)
    }
}

extension TeacherTargetsTests {
    /// A ReActNet student trained on a different resample each epoch (boosting's way) learns
    /// its teacher's answers through the cached rows.
    func testReActNetStudentOnResampledEpochsLearnsFromItsTeacher() throws {
        let images = try syntheticImages(count: 192, seed: 8)
        var teacherSpec = TrainingSpec()
        teacherSpec.model = "fcnn"
        teacherSpec.seed = 3
        teacherSpec.train.epochs = 3
        teacherSpec.train.batchSize = 16
        teacherSpec.train.learningRate = 0.01
        let teacher = try Trainer(spec: teacherSpec, inputShape: [8, 8, 1], classes: 10)
        try teacher.fit(train: DatasetView.all(images))

        var spec = teacherSpec
        spec.model = "tinycnn"
        spec.method.name = .reactnet
        spec.train.epochs = 6
        // The recipe this test's threshold was set with: half the epochs with real weights.
        spec.method.firstStepEpochs = 3
        let student = try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10)
        student.teacher = teacher.model
        let all = DatasetView.all(images)
        let (_, taught, _) = Evaluation.logits(teacher.model, on: all)
        func agreement() -> Double {
            let (_, answers, _) = Evaluation.logits(student.model, on: all)
            return Double(zip(taught, answers).filter { $0 == $1 }.count) / Double(images.count)
        }
        let untrained = agreement()
        let uniform = [Double](repeating: 1, count: images.count)
        try student.fit(epochData: { epoch in
            var rng = SeededGenerator(seed: 40 + UInt64(epoch))
            return try all.weightedResample(weights: uniform, count: images.count, rng: &rng)
        })
        XCTAssertLessThan(student.history[5].loss, student.history[0].loss)
        // The exact figure depends on the BLAS kernel family's rounding (0.885 on Haswell
        // kernels, above 0.9 on SkylakeX); the student must agree far above chance and above itself untrained.
        let learned = agreement()
        XCTAssertGreaterThan(learned, 0.8)
        XCTAssertGreaterThan(learned, untrained + 0.3, "untrained \(untrained)")
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
