import XCTest
import BennData
import BennNN
import BennTensor
import BennTrain

/// ReActNet's second step as the authors run it: a new schedule and a new optimizer.
final class TwoStepScheduleTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    func reactnetSpec(restart: Bool?) -> TrainingSpec {
        var spec = TrainingSpec()
        spec.model = "tinycnn"
        spec.seed = 6
        spec.method.name = .reactnet
        spec.method.restartSchedule = restart
        spec.method.firstStepEpochs = 2
        spec.train.epochs = 4
        spec.train.batchSize = 16
        spec.train.learningRate = 0.01
        return spec
    }

    func student(_ spec: TrainingSpec) throws -> Trainer {
        let t = try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10)
        t.teacher = try Sequential(ModelZoo.description(named: "fcnn", inputShape: [8, 8, 1], classes: 10), seed: 2)
        return t
    }

    /// The default first step is a fifth of the epochs (at least one, never all of them),
    /// and the spec's value wins.
    func testDefaultFirstStepIsAFifthOfTheEpochs() throws {
        for (epochs, first) in [(2, 1), (4, 1), (5, 1), (10, 2), (25, 5)] {
            var spec = reactnetSpec(restart: nil)
            spec.method.firstStepEpochs = nil
            spec.train.epochs = epochs
            XCTAssertEqual(try student(spec).firstStepEpochs, first, "\(epochs) epochs")
            spec.method.firstStepEpochs = 3
            XCTAssertEqual(try student(spec).firstStepEpochs, min(3, epochs - 1), "\(epochs) epochs, first_step_epochs 3")
        }
    }

    func testRestartRunsEachStepsOwnSchedule() throws {
        let data = DatasetView.all(try syntheticImages(count: 64, seed: 9))
        let restarted = try student(reactnetSpec(restart: true))
        try restarted.fit(train: data)
        // Each epoch ends at the same point of its step's cosine as the matching epoch of the other step.
        let rates = restarted.history.map(\.learningRate)
        XCTAssertEqual(rates[0], rates[2])
        XCTAssertEqual(rates[1], rates[3])
        XCTAssertLessThan(rates[1], rates[0])
        XCTAssertLessThan(rates[1], 0.01 * 0.05)
        // A fresh Adam at the second step: it has counted only that step's 2 x 4 batches.
        XCTAssertEqual((restarted.optimizer as? Adam)?.stepCount, 8)

        let continuous = try student(reactnetSpec(restart: nil))
        try continuous.fit(train: data)
        let one = continuous.history.map(\.learningRate)
        XCTAssertEqual(one, one.sorted(by: >))
        XCTAssertEqual((continuous.optimizer as? Adam)?.stepCount, 16)
        XCTAssertNotEqual(restarted.model.namedTensors.map(\.tensor), continuous.model.namedTensors.map(\.tensor))
    }

    func testResumeAcrossTheStepBoundaryMatchesAnUninterruptedRun() throws {
        let data = DatasetView.all(try syntheticImages(count: 64, seed: 10))
        let straight = try student(reactnetSpec(restart: true))
        try straight.fit(train: data)
        for stop in [2, 3] {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("two-step-\(getpid())-\(stop).ckpt").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let first = try student(reactnetSpec(restart: true))
            XCTAssertThrowsError(try first.fit(train: data, afterEpoch: { t in
                try t.checkpoint().write(to: path)
                if t.completedEpochs == stop { throw CancellationError() }
            }))
            let resumed = try student(reactnetSpec(restart: true))
            try resumed.resume(from: try Checkpoint.read(from: path))
            try resumed.fit(train: data)
            XCTAssertEqual(resumed.model.namedTensors.map(\.tensor), straight.model.namedTensors.map(\.tensor), "stopped after epoch \(stop)")
        }
    }
}
