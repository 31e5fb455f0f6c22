import XCTest
import BennData
import BennEnsemble
import BennRandom
import BennTensor
import BennTrain

/// 8x8 images whose class is a bright row, plus noise, so tiny models learn them.
func syntheticImages(count: Int, seed: UInt64, noise: Int = 90) throws -> LabeledImages {
    var rng = SeededGenerator(seed: seed)
    var pixels = [UInt8](repeating: 0, count: count * 64), labels = [UInt8]()
    for i in 0..<count {
        let l = rng.nextInt(below: 8)
        labels.append(UInt8(l))
        for p in 0..<64 { pixels[i * 64 + p] = UInt8(rng.nextInt(below: noise)) }
        for x in 0..<8 where rng.nextInt(below: 4) != 0 { pixels[i * 64 + l * 8 + x] = 255 }
    }
    return try LabeledImages(height: 8, width: 8, pixels: pixels, labels: labels, classNames: (0..<10).map(String.init))
}

final class EnsembleTrainingTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    func spec(_ strategy: TrainingSpec.Strategy, members: Int) -> TrainingSpec {
        var s = TrainingSpec()
        s.model = "tinymlp"
        s.seed = 5
        s.train.epochs = 2
        s.train.batchSize = 16
        s.train.learningRate = 0.01
        s.ensemble.strategy = strategy
        s.ensemble.members = members
        return s
    }

    func data() throws -> EnsembleData {
        try EnsembleData.make(spec: spec(.single, members: 1), trainImages: syntheticImages(count: 96, seed: 1),
                              testImages: syntheticImages(count: 64, seed: 2))
    }

    func testSameSpecGivesIdenticalEnsembles() throws {
        for strategy in [TrainingSpec.Strategy.bagging, .boosting] {
            let a = try EnsembleRunner.run(spec: spec(strategy, members: 3), data: data())
            let b = try EnsembleRunner.run(spec: spec(strategy, members: 3), data: data())
            // Everything but wall-clock figures is identical.
            func outcome(_ e: TrainedEnsemble) -> [String] {
                e.state.members.map { "\($0.member) \($0.alpha) \(String(describing: $0.trainingError)) \($0.history.map(\.loss)) \($0.history.map(\.testAccuracy))" }
            }
            XCTAssertEqual(outcome(a), outcome(b))
            XCTAssertEqual(a.state.boostingWeights, b.state.boostingWeights)
            XCTAssertEqual(a.tensors, b.tensors, "\(strategy)")
            XCTAssertEqual(a.state.members.count, 3)
            // Members differ from each other (different samples and seeds).
            XCTAssertNotEqual(a.tensors[0], a.tensors[1])
        }
    }

    func testOneMemberEnsembleIsThePlainRun() throws {
        let ensemble = try EnsembleRunner.run(spec: spec(.bagging, members: 1), data: data())
        var plain = spec(.single, members: 1)
        plain.ensemble = TrainingSpec.EnsembleSection()
        let trainer = try Trainer(spec: plain, inputShape: [8, 8, 1], classes: 10)
        let d = try data()
        try trainer.fit(train: d.training.bootstrap(count: d.training.count, seed: MemberJob.seed(ofMember: 0, ensembleSeed: 5) ^ 0xB007_5742))
        XCTAssertEqual(ensemble.tensors[0], Dictionary(uniqueKeysWithValues: trainer.model.namedTensors.map { ($0.name, $0.tensor) }))
    }

    /// `repeat_first_step: false`: a ReActNet member warm-started from the previous one
    /// trains binary weights throughout, as a one-step run from the inherited weights; the
    /// first member, which starts cold, still runs both steps.
    func testWarmStartedReActNetMemberCanSkipTheFirstStep() throws {
        func reactnet(repeatFirstStep: Bool?, firstStepEpochs: Int? = nil) -> TrainingSpec {
            var s = spec(.bagging, members: 2)
            s.train.epochs = 3
            s.ensemble.start = .sequential
            s.method.name = .reactnet
            s.method.repeatFirstStep = repeatFirstStep
            s.method.firstStepEpochs = firstStepEpochs
            return s
        }
        let d = try data()
        func member(_ m: Int, _ s: TrainingSpec, warm: [String: Tensor]?) throws -> [String: Tensor] {
            let job = EnsembleState(spec: s, trainingCount: d.training.count, classes: 10).job(m)
            XCTAssertEqual(job.warmStartFrom, m > 0 ? m - 1 : nil)
            return try MemberTrainer.train(job, data: d, warmStart: warm).tensors
        }
        let skip = reactnet(repeatFirstStep: false)
        // Compared as booleans: a failing tensor comparison would print every weight.
        let cold = try member(0, skip, warm: nil)
        XCTAssertTrue(cold == (try member(0, reactnet(repeatFirstStep: nil), warm: nil)), "the cold member runs both steps")
        XCTAssertFalse(cold == (try member(0, reactnet(repeatFirstStep: nil, firstStepEpochs: 0), warm: nil)))

        let skipped = try member(1, skip, warm: cold)
        XCTAssertTrue(skipped == (try member(1, reactnet(repeatFirstStep: true, firstStepEpochs: 0), warm: cold)),
                      "the warm member trains binary weights from its first epoch")
        XCTAssertFalse(skipped == (try member(1, reactnet(repeatFirstStep: true), warm: cold)))
        // The in-process runner applies the same rule.
        XCTAssertTrue(try EnsembleRunner.run(spec: skip, data: d).tensors == [0: cold, 1: skipped])
    }

    func testBoostingMembersGetWeightsAndEvaluationCoversPrefixes() throws {
        let e = try EnsembleRunner.run(spec: spec(.boosting, members: 3), data: data())
        XCTAssertTrue(e.state.members.allSatisfy { $0.alpha > 0 && $0.trainingError != nil })
        let eval = EnsembleEvaluation.run(try e.networks(), weights: e.state.members.map(\.alpha), rule: .softLogits,
                                          on: try data().test!)
        XCTAssertEqual(eval.prefixAccuracies.count, e.state.members.count)
        XCTAssertEqual(eval.prefixAccuracies[0], eval.memberAccuracies[0], accuracy: 1e-12)
        XCTAssertGreaterThan(eval.ensembleAccuracy, 0.5)
    }
}
