import XCTest
import BennData
import BennNN
import BennTensor
import BennTrain

/// Bi-Real's clip initialization: a real-valued network (real weights, clip(x, -1, 1) where
/// the signs go) trains first, and the binary network continues from its weights.
final class ClipPretrainingTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    func birealSpec(pretrain: Int?, epochs: Int = 3) -> TrainingSpec {
        var spec = TrainingSpec()
        spec.model = "tinycnn"
        spec.seed = 8
        spec.method.name = .bireal
        spec.method.pretrainEpochs = pretrain
        spec.train.epochs = epochs
        spec.train.batchSize = 16
        spec.train.learningRate = 0.01
        return spec
    }

    func trainer(_ spec: TrainingSpec) throws -> Trainer {
        try Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10)
    }

    /// (activations binarized, weights binarized) of every binary block of the model.
    func binaryState(_ model: Sequential) -> [(Bool, Bool)] {
        let acts = model.allLayers.compactMap { ($0 as? SignActivation)?.activationsBinarized }
        let convs = model.allLayers.compactMap { $0 as? Conv2D }.filter { $0.quantizer != nil }.map(\.binaryWeights)
        XCTAssertFalse(acts.isEmpty)
        XCTAssertFalse(convs.isEmpty)
        return zip(acts, convs).map { ($0, $1) }
    }

    func testPretrainEpochsAreBirealsAndLeaveABinaryEpoch() throws {
        // The default is a fifth of the epochs, at least one, never all of them; 0 turns it off.
        for (epochs, first) in [(1, 0), (2, 1), (5, 1), (10, 2), (25, 5)] {
            XCTAssertEqual(try trainer(birealSpec(pretrain: nil, epochs: epochs)).pretrainEpochs, first, "\(epochs) epochs")
        }
        XCTAssertEqual(try trainer(birealSpec(pretrain: 0)).pretrainEpochs, 0)
        XCTAssertEqual(try trainer(birealSpec(pretrain: 2)).pretrainEpochs, 2)
        XCTAssertEqual(try trainer(birealSpec(pretrain: 5)).pretrainEpochs, 2)
        var other = birealSpec(pretrain: 1)
        other.method.name = .xnor
        XCTAssertEqual(try trainer(other).pretrainEpochs, 0)
        XCTAssertEqual(try SpecParser.parse("model: bcnn\nmethod: bireal\nmethod_options:\n  pretrain_epochs: 2\n").method.pretrainEpochs, 2)
        // Bi-Real's default weight gradient is the public code's straight-through rule.
        XCTAssertEqual(try SpecParser.parse("model: bcnn\nmethod: bireal\n").method.weightQuantizer.gradient, .straightThrough)
        XCTAssertEqual(try SpecParser.parse("model: bcnn\nmethod: bireal\nmethod_options:\n  gradient: magnitude_aware\n").method.weightQuantizer.gradient, .magnitudeAware)
    }

    func testRealNetworkTrainsFirstAndTheResultIsBinary() throws {
        let data = DatasetView.all(try syntheticImages(count: 64, seed: 12))
        let t = try trainer(birealSpec(pretrain: 2))
        var activations: [Set<Bool>] = [], weights: [Set<Bool>] = []
        try t.fit(train: data, afterEpoch: { t in
            activations.append(Set(self.binaryState(t.model).map(\.0)))
            weights.append(Set(self.binaryState(t.model).map(\.1)))
        })
        XCTAssertEqual(activations, [[false], [false], [true]], "activations: clipped in epochs 1-2, signs in epoch 3")
        XCTAssertEqual(weights, [[false], [false], [true]], "weights: real in epochs 1-2, binary in epoch 3")
        XCTAssertTrue(binaryState(t.model).allSatisfy { $0.0 && $0.1 })

        let plain = try trainer(birealSpec(pretrain: 0))
        try plain.fit(train: data)
        XCTAssertNotEqual(plain.model.namedTensors.map(\.tensor), t.model.namedTensors.map(\.tensor))
    }

    func testResumeAcrossThePretrainingBoundaryMatchesAnUninterruptedRun() throws {
        let data = DatasetView.all(try syntheticImages(count: 64, seed: 13))
        let straight = try trainer(birealSpec(pretrain: 1))
        try straight.fit(train: data)
        for stop in [1, 2] {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("clip-init-\(getpid())-\(stop).ckpt").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let first = try trainer(birealSpec(pretrain: 1))
            XCTAssertThrowsError(try first.fit(train: data, afterEpoch: { t in
                try t.checkpoint().write(to: path)
                if t.completedEpochs == stop { throw CancellationError() }
            }))
            let resumed = try trainer(birealSpec(pretrain: 1))
            try resumed.resume(from: try Checkpoint.read(from: path))
            try resumed.fit(train: data)
            XCTAssertEqual(resumed.model.namedTensors.map(\.tensor), straight.model.namedTensors.map(\.tensor), "stopped after epoch \(stop)")
        }
    }
}
