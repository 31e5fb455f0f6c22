import XCTest
import BennNN
@testable import BennTrain

/// `TrainingRecipe` and `RecipeSchedule` on their own: every method's default recipe and
/// the options that change it, epoch by epoch, without training anything.
final class RecipeScheduleTests: XCTestCase {
    func spec(_ name: MethodSpec.Name, epochs: Int = 10, _ options: (inout MethodSpec) -> Void = { _ in }) -> TrainingSpec {
        var s = TrainingSpec()
        s.model = "tinycnn"
        s.method = MethodSpec(name)
        options(&s.method)
        s.train.epochs = epochs
        return s
    }

    typealias Plan = RecipeSchedule.Epoch

    func plans(_ spec: TrainingSpec) -> [Plan] {
        let schedule = TrainingRecipe(spec).schedule
        return (0..<spec.train.epochs).map { schedule.epoch($0) }
    }

    func binary(_ epochs: Int, distills: Bool = false) -> Plan {
        Plan(phase: .binary, binarizesWeights: true, binarizesActivations: true, resetsOptimizer: false,
             learningRateEpochs: 0..<epochs, distills: distills)
    }

    func testOneStepMethodsTrainTheBinaryNetworkThroughout() {
        for name in [MethodSpec.Name.bnn, .xnor, .sdbnn] {
            let recipe = TrainingRecipe(spec(name))
            XCTAssertEqual(recipe.epochs, 10)
            XCTAssertNil(recipe.teacher, "\(name)")
            XCTAssertEqual([recipe.pretrainEpochs, recipe.firstStepEpochs], [0, 0], "\(name)")
            XCTAssertFalse(recipe.restartsAtSecondStep || recipe.centersLatentWeights, "\(name)")
            XCTAssertEqual(plans(spec(name)), Array(repeating: binary(10), count: 10), "\(name)")
            XCTAssertEqual(recipe.schedule.phases.map(\.phase), [.binary])
            XCTAssertEqual(recipe.schedule.phases.map(\.epochs), [0..<10])
        }
        // Bi-Real without pre-training, and every method at one epoch.
        XCTAssertEqual(plans(spec(.bireal) { $0.pretrainEpochs = 0 }), Array(repeating: binary(10), count: 10))
        for name in MethodSpec.Name.allCases {
            let plan = plans(spec(name, epochs: 1))
            XCTAssertEqual(plan.map(\.phase), [.binary], "\(name)")
            XCTAssertEqual(plan.map(\.binarizesWeights), [true], "\(name)")
        }
    }

    func testXNORMeanCentringIsPartOfTheRecipe() {
        XCTAssertTrue(TrainingRecipe(spec(.xnor) { $0.meanCenter = true }).centersLatentWeights)
        XCTAssertFalse(TrainingRecipe(spec(.bnn) { $0.meanCenter = true }).centersLatentWeights)
    }

    func testBiRealClipPretrainingComesFirst() {
        let plan = plans(spec(.bireal))
        let clip = Plan(phase: .clipPretraining, binarizesWeights: false, binarizesActivations: false,
                        resetsOptimizer: false, learningRateEpochs: 0..<10, distills: false)
        XCTAssertEqual(plan, [clip, clip] + Array(repeating: binary(10), count: 8))
        XCTAssertEqual(TrainingRecipe(spec(.bireal)).schedule.phases.map(\.epochs), [0..<2, 2..<10])
        // A fifth, at least one, never all epochs; the option wins up to that.
        for (epochs, pretrain) in [(2, 1), (4, 1), (5, 1), (12, 2), (20, 4)] {
            XCTAssertEqual(TrainingRecipe(spec(.bireal, epochs: epochs)).pretrainEpochs, pretrain, "\(epochs) epochs")
        }
        XCTAssertEqual(TrainingRecipe(spec(.bireal, epochs: 3) { $0.pretrainEpochs = 5 }).pretrainEpochs, 2)
        XCTAssertEqual(plans(spec(.bireal) { $0.pretrainEpochs = 4 }).map(\.phase),
                       Array(repeating: .clipPretraining, count: 4) + Array(repeating: .binary, count: 6))
    }

    func testReActNetRunsTwoStepsWithATrainedTeacher() {
        let recipe = TrainingRecipe(spec(.reactnet))
        XCTAssertEqual(recipe.teacher, .train(epochs: 10))
        XCTAssertEqual(recipe.firstStepEpochs, 2)
        let step1 = Plan(phase: .realWeights, binarizesWeights: false, binarizesActivations: true,
                         resetsOptimizer: false, learningRateEpochs: 0..<10, distills: true)
        XCTAssertEqual(plans(spec(.reactnet)), [step1, step1] + Array(repeating: binary(10, distills: true), count: 8))
        XCTAssertEqual(recipe.schedule.phases.map(\.phase), [.realWeights, .binary])

        XCTAssertEqual(TrainingRecipe(spec(.reactnet) { $0.teacherEpochs = 3 }).teacher, .train(epochs: 3))
        XCTAssertEqual(TrainingRecipe(spec(.reactnet) { $0.teacher = "twin.ckpt" }).teacher, .checkpoint(path: "twin.ckpt"))
        XCTAssertEqual(plans(spec(.reactnet) { $0.twoStep = false }), Array(repeating: binary(10, distills: true), count: 10))
        XCTAssertEqual(plans(spec(.reactnet) { $0.firstStepEpochs = 0 }).map(\.phase), Array(repeating: .binary, count: 10))
        XCTAssertEqual(TrainingRecipe(spec(.reactnet, epochs: 4) { $0.firstStepEpochs = 9 }).firstStepEpochs, 3)
    }

    func testRestartScheduleSplitsTheLearningRateAndResetsTheOptimizer() {
        let plan = plans(spec(.reactnet) { $0.restartSchedule = true; $0.firstStepEpochs = 3 })
        XCTAssertEqual(plan.map(\.learningRateEpochs), Array(repeating: 0..<3, count: 3) + Array(repeating: 3..<10, count: 7))
        XCTAssertEqual(plan.map(\.resetsOptimizer), (0..<10).map { $0 == 3 })
        // Without a first step there is nothing to restart.
        let one = plans(spec(.reactnet) { $0.restartSchedule = true; $0.twoStep = false })
        XCTAssertEqual(one, Array(repeating: binary(10, distills: true), count: 10))
    }

    func testSDBNNImageNetRecipeParts() {
        XCTAssertNil(TrainingRecipe(spec(.sdbnn)).teacher)
        let imagenet = spec(.sdbnn) { $0.teacher = "train"; $0.twoStep = true }
        XCTAssertEqual(TrainingRecipe(imagenet).teacher, .train(epochs: 10))
        XCTAssertEqual(plans(imagenet).map(\.phase), [.realWeights, .realWeights] + Array(repeating: .binary, count: 8))
        XCTAssertEqual(plans(imagenet).map(\.distills), Array(repeating: true, count: 10))
        // Two steps without a teacher fit the labels.
        XCTAssertEqual(plans(spec(.sdbnn) { $0.twoStep = true }).map(\.distills), Array(repeating: false, count: 10))
    }
}
