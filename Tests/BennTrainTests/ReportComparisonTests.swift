import XCTest
import BennData
import BennNN
import BennTensor
@testable import BennTrain

final class ReportComparisonTests: XCTestCase {
    override func setUp() { Parallelism.threads = 1 }

    /// One real report of a one-epoch training; the tests vary its seed, spec and accuracy.
    static let trained: TrainingReport = {
        var spec = TrainingSpec()
        spec.model = "tinymlp"
        spec.train.batchSize = 16
        let trainer = try! Trainer(spec: spec, inputShape: [8, 8, 1], classes: 10)
        try! trainer.fit(train: DatasetView.all(try! syntheticImages(count: 64, seed: 1)),
                         test: DatasetView.all(try! syntheticImages(count: 32, seed: 2)))
        return TrainingReport(trainer: trainer, wallSeconds: 1, datasetHash: "0123456789abcdef0123", threads: 1)
    }()

    func run(_ path: String, seed: UInt64, accuracy: Float, method: MethodSpec = MethodSpec(),
             edit: (inout TrainingSpec) -> Void = { _ in }) -> ReportComparison.Run {
        var report = Self.trained
        report.seed = seed
        report.spec.seed = seed
        report.spec.method = method
        edit(&report.spec)
        report.finalTestAccuracy = accuracy
        return ReportComparison.Run(path: path, report: report)
    }

    /// Means, sample standard deviations, Welch's standard error and the paired margins,
    /// against figures worked out by hand.
    func testFiguresAgainstHandComputedOnes() throws {
        var bireal = MethodSpec(.bireal)
        bireal.resnetDownsample = .averagePool
        let runs = [run("b0", seed: 0, accuracy: 0.90), run("b1", seed: 1, accuracy: 0.92), run("b2", seed: 2, accuracy: 0.91),
                    run("r2", seed: 2, accuracy: 0.95, method: bireal), run("r0", seed: 0, accuracy: 0.93, method: bireal),
                    run("r3", seed: 3, accuracy: 0.94, method: bireal)]
        let c = try ReportComparison(runs)
        XCTAssertEqual(c.groups.count, 2)
        let (a, b) = (c.groups[0], c.groups[1])
        XCTAssertEqual(a.label, "A")
        XCTAssertEqual(a.files, ["b0", "b1", "b2"])
        XCTAssertNil(a.versusBaseline)
        XCTAssertEqual(a.mean, 0.91, accuracy: 1e-6)
        XCTAssertEqual(a.standardDeviation!, 0.01, accuracy: 1e-6)
        XCTAssertEqual(b.label, "B")
        XCTAssertEqual(b.seeds, [0, 2, 3], "sorted by seed")
        XCTAssertEqual(b.files, ["r0", "r2", "r3"])
        XCTAssertEqual(b.accuracies[0], 0.93, accuracy: 1e-6)
        XCTAssertEqual(b.mean, 0.94, accuracy: 1e-6)
        XCTAssertEqual(b.differences, ["method is bireal, A's bnn", "method_options.resnet_downsample is avg_pool, A's unset"])
        let v = try XCTUnwrap(b.versusBaseline)
        XCTAssertEqual(v.meanDifference, 0.03, accuracy: 1e-6)
        // Both sample variances are 1e-4 over 3 seeds: sqrt(1e-4/3 + 1e-4/3).
        XCTAssertEqual(v.standardError!, (2e-4 / 3).squareRoot(), accuracy: 1e-7)
        XCTAssertEqual(v.standardErrors!, 0.03 / (2e-4 / 3).squareRoot(), accuracy: 1e-3)
        XCTAssertEqual(v.pairedSeeds, [0, 2])
        XCTAssertEqual(v.pairedDifferences[0], 0.03, accuracy: 1e-6)
        XCTAssertEqual(v.pairedDifferences[1], 0.04, accuracy: 1e-6)
        XCTAssertEqual(v.meanPairedDifference!, 0.035, accuracy: 1e-6)
        XCTAssertEqual(v.above, 2)
    }

    /// The decision RESULTS.md records for Bi-Real's average-pooled shortcut on `breal18`
    /// (nine seeds each, 3.11 standard errors), from the per-seed figures it lists.
    func testReproducesTheRecordedBiRealDecision() throws {
        let bnn: [Float] = [92.13, 92.06, 92.15, 92.07, 91.80, 91.95, 92.45, 92.12, 92.25]
        let bireal: [Float] = [92.70, 92.11, 92.44, 92.21, 92.31, 92.38, 92.55, 92.26, 92.40]
        let runs = bnn.enumerated().map { run("bnn-s\($0)", seed: UInt64($0), accuracy: $1 / 100) }
            + bireal.enumerated().map { run("bra-s\($0)", seed: UInt64($0), accuracy: $1 / 100, method: MethodSpec(.bireal)) }
        let v = try XCTUnwrap(try ReportComparison(runs).groups[1].versusBaseline)
        XCTAssertEqual(v.meanDifference * 100, 0.2644, accuracy: 1e-3)
        XCTAssertEqual(v.standardError! * 100, 0.0849, accuracy: 1e-3)
        XCTAssertEqual(v.standardErrors!, 3.11, accuracy: 0.01)
        XCTAssertEqual(v.above, 9)
    }

    /// The thread count and the data directory do not make another kind of run; the recipe
    /// does, named by its spec-file key; `baseline` picks the kind the others are set against.
    func testKindsAndTheBaseline() throws {
        let runs = [run("a", seed: 0, accuracy: 0.90), run("b", seed: 1, accuracy: 0.91) { $0.threads = 2; $0.data.directory = "/elsewhere" },
                    run("c", seed: 0, accuracy: 0.80) { $0.train.learningRate = 0.01; $0.data.cropPadding = 2 }]
        let c = try ReportComparison(runs, baseline: "c")
        XCTAssertEqual(c.groups.map(\.files), [["c"], ["a", "b"]])
        XCTAssertEqual(c.groups[1].differences, ["data.crop_padding is 0, A's 2", "train.learning_rate is 0.001, A's 0.01"])
        XCTAssertNil(c.groups[0].standardDeviation)
        let v = try XCTUnwrap(c.groups[1].versusBaseline)
        XCTAssertNil(v.standardError, "one baseline seed has no spread")
        XCTAssertEqual(v.pairedSeeds, [0])
        XCTAssertEqual(v.above, 1)
    }

    /// Runs that differ only in ignored keys are one kind: each seed distilling from its own
    /// teacher file, say. A key that is not a spec key is refused with the nearest one.
    func testIgnoredKeysDoNotSplitAKind() throws {
        func reactnet(_ teacher: String) -> MethodSpec {
            var m = MethodSpec(.reactnet)
            m.teacher = teacher
            return m
        }
        let runs = [run("r0", seed: 0, accuracy: 0.90, method: reactnet("fcnn-s0.ckpt")),
                    run("r1", seed: 1, accuracy: 0.92, method: reactnet("fcnn-s1.ckpt"))]
        XCTAssertEqual(try ReportComparison(runs).groups.count, 2)
        XCTAssertEqual(try ReportComparison(runs).groups[1].differences, ["method_options.teacher is fcnn-s1.ckpt, A's fcnn-s0.ckpt"])
        let one = try ReportComparison(runs, ignoring: ["method_options.teacher"])
        XCTAssertEqual(one.groups.map(\.files), [["r0", "r1"]])
        XCTAssertEqual(one.ignored, ["method_options.teacher"])
        XCTAssertThrowsError(try ReportComparison(runs, ignoring: ["method_options.teachr"])) { error in
            XCTAssertTrue("\(error)".hasPrefix("'method_options.teachr' is not a spec key (did you mean 'method_options.teacher'?); the keys are model, method, "), "\(error)")
        }
    }

    func testRunsThatCannotBeComparedAreNamed() throws {
        func refusal(_ runs: [ReportComparison.Run], baseline: String? = nil) -> String {
            do {
                _ = try ReportComparison(runs, baseline: baseline)
                return "accepted"
            } catch { return "\(error)" }
        }
        var otherData = run("other.json", seed: 1, accuracy: 0.9)
        otherData.report.datasetHash = "fedcba9876543210"
        XCTAssertEqual(refusal([run("a.json", seed: 0, accuracy: 0.9), otherData]),
                       "a.json and other.json were trained on different data (sha256 0123456789ab... and fedcba987654...)")
        XCTAssertEqual(refusal([run("a.json", seed: 3, accuracy: 0.9), run("copy.json", seed: 3, accuracy: 0.9) { $0.threads = 2 }]),
                       "a.json and copy.json hold the same run (the same spec and seed 3); name each run once")
        var unfinished = run("cut.json", seed: 0, accuracy: 0.9)
        unfinished.report.spec.train.epochs = 5
        XCTAssertEqual(refusal([unfinished]), "cut.json: the run stopped after 1 of its 5 epochs")
        var untested = run("untested.json", seed: 0, accuracy: 0.9)
        untested.report.finalTestAccuracy = nil
        XCTAssertEqual(refusal([untested]), "untested.json: the run has no test accuracy (no epoch was evaluated on the test split)")
        XCTAssertEqual(refusal([run("a.json", seed: 0, accuracy: 0.9)], baseline: "b.json"),
                       "the baseline b.json is not one of the reports compared")
        XCTAssertEqual(refusal([]), "no reports to compare")
    }
}
