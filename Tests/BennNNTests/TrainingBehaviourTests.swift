import XCTest
import BennNN
import BennRandom
import BennTensor

final class TrainingBehaviourTests: XCTestCase {
    func testBatchNormTrainingVersusEvaluation() {
        let bn = BatchNorm(channels: 2, momentum: 0.5, name: "bn")
        let x = Tensor(shape: [4, 2], storage: [1, 10, 3, 10, 5, 30, 7, 30])
        let y = bn.forward(x, training: true)
        // Training: normalised with the batch's own statistics (mean 4, var 5 / mean 20, var 100).
        XCTAssertEqual(y[0], (1 - 4) / (5 + 1e-5).squareRoot(), accuracy: 1e-5)
        XCTAssertEqual(y[1], (10 - 20) / (100 + 1e-5).squareRoot(), accuracy: 1e-5)
        // Running statistics moved half-way (momentum 0.5), variance unbiased (n - 1).
        XCTAssertEqual(bn.runningMean.storage, [2, 10])
        XCTAssertEqual(bn.runningVar[0], 0.5 + 0.5 * 20 / 3, accuracy: 1e-5)
        // Evaluation uses the running statistics, not the batch's.
        let e = bn.forward(x, training: false)
        XCTAssertEqual(e[0], (1 - 2) / (bn.runningVar[0] + 1e-5).squareRoot(), accuracy: 1e-5)
        XCTAssertNotEqual(e[0], y[0])
    }

    func testAdamStepMatchesHandComputedValues() {
        let p = Parameter(name: "w", value: Tensor(shape: [2], storage: [1, -2]))
        let adam = Adam(learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        p.grad = Tensor(shape: [2], storage: [0.5, -4])
        adam.step([p])
        // First step: m̂ = g, v̂ = g², update = lr · g / (|g| + ε) ≈ lr · sign(g).
        XCTAssertEqual(p.value[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(p.value[1], -1.9, accuracy: 1e-6)
        p.grad = Tensor(shape: [2], storage: [0.5, 4])
        adam.step([p])
        // Second step, by hand: m = 0.9·m + 0.1·g, v = 0.999·v + 0.001·g².
        let m1: Float = 0.9 * -0.4 + 0.4, v1: Float = 0.999 * 0.016 + 0.016
        let mHat = m1 / (1 - 0.81), vHat = v1 / (1 - 0.999 * 0.999)
        XCTAssertEqual(p.value[1], -1.9 - 0.1 * mHat / (vHat.squareRoot() + 1e-8), accuracy: 1e-5)
    }

    func testAdamDecoupledWeightDecaySkipsNonDecayingParameters() {
        let w = Parameter(name: "w", value: Tensor(shape: [1], storage: [2]))
        let b = Parameter(name: "b", value: Tensor(shape: [1], storage: [2]), decays: false)
        let adam = Adam(learningRate: 0.1, weightDecay: 0.5)
        adam.step([w, b])  // zero gradients: only decay moves w
        XCTAssertEqual(w.value[0], 2 - 0.1 * 0.5 * 2, accuracy: 1e-6)
        XCTAssertEqual(b.value[0], 2)
    }

    func testSGDMomentumMatchesHandComputedValues() {
        let p = Parameter(name: "w", value: Tensor(shape: [1], storage: [1]))
        let sgd = SGD(learningRate: 0.1, momentum: 0.9)
        p.grad = Tensor(shape: [1], storage: [1]); sgd.step([p])   // v = 1, w = 0.9
        p.grad = Tensor(shape: [1], storage: [1]); sgd.step([p])   // v = 1.9, w = 0.71
        XCTAssertEqual(p.value[0], 0.71, accuracy: 1e-6)
    }

    func testLearningRateSchedules() {
        XCTAssertEqual(LearningRateSchedule.constant.rate(base: 0.1, step: 99), 0.1)
        XCTAssertEqual(LearningRateSchedule.step(everySteps: 10, factor: 0.5).rate(base: 1, step: 25), 0.25)
        let cos = LearningRateSchedule.cosine(totalSteps: 100, floor: 0)
        XCTAssertEqual(cos.rate(base: 1, step: 0), 1)
        XCTAssertEqual(cos.rate(base: 1, step: 50), 0.5, accuracy: 1e-6)
        XCTAssertEqual(cos.rate(base: 1, step: 100), 0, accuracy: 1e-6)
    }

    private func trainTiny(seed: UInt64, steps: Int) throws -> (Sequential, Float) {
        let desc = try ModelZoo.description(named: "tinymlp", inputShape: [4, 4, 1], classes: 4)
        let model = try Sequential(desc, seed: seed)
        var rng = SeededGenerator(seed: 99)
        let x = randomTensor([16, 4, 4, 1], &rng)
        let labels = (0..<16).map { Int32($0 % 4) }
        let adam = Adam(learningRate: 0.01)
        for _ in 0..<steps {
            model.zeroGrad()
            let logits = model.forward(x, training: true)
            model.backward(Loss.softmaxCrossEntropy(logits: logits, labels: labels).gradient)
            adam.step(model.parameters)
        }
        let predictions = Loss.argmax(model.forward(x, training: true))
        let accuracy = Float(zip(predictions, labels).filter { $0 == $1 }.count) / 16
        return (model, accuracy)
    }

    func testTinyBinaryModelOverfitsTinyBatch() throws {
        Parallelism.threads = 2
        let (_, accuracy) = try trainTiny(seed: 5, steps: 150)
        XCTAssertEqual(accuracy, 1, "a binary MLP must memorise 16 samples")
    }

    func testSameSeedGivesBitIdenticalWeights() throws {
        Parallelism.threads = 2
        let (a, _) = try trainTiny(seed: 7, steps: 20)
        let (b, _) = try trainTiny(seed: 7, steps: 20)
        let (c, _) = try trainTiny(seed: 8, steps: 20)
        XCTAssertEqual(a.namedTensors.map(\.tensor), b.namedTensors.map(\.tensor))
        XCTAssertNotEqual(a.namedTensors.map(\.tensor), c.namedTensors.map(\.tensor))
    }

    func testBenchmarkModelsMatchTheirDefinition() throws {
        let bmlp = try Sequential(ModelZoo.description(named: "bmlp"), seed: 0)
        XCTAssertEqual(bmlp.parameterCount, 784 * 2048 + 2 * 2048 * 2048 + 2048 * 10 + 2 * (3 * 2048 + 10))
        let bcnn = try Sequential(ModelZoo.description(named: "bcnn"), seed: 0)
        let convs = 9 * 64 + 9 * 64 * 64 + 9 * 64 * 128 + 9 * 128 * 128
        XCTAssertEqual(bcnn.parameterCount, convs + 6272 * 512 + 512 * 10 + 2 * (64 + 64 + 128 + 128 + 512 + 10))
        XCTAssertEqual(bcnn.shapes.last, [10])
        XCTAssertThrowsError(try ModelZoo.description(named: "bmpl")) { error in
            XCTAssertTrue("\(error)".contains("bmlp"), "the error lists valid names: \(error)")
        }
    }
}

final class EvaluationModeTests: XCTestCase {
    /// Evaluation batches larger than the last training batch must not touch the
    /// training-time buffers (a past heap-corruption bug in max pooling).
    func testEvaluationWithLargerBatchThanTraining() throws {
        Parallelism.threads = 2
        let model = try Sequential(ModelZoo.description(named: "tinycnn", inputShape: [8, 8, 1], classes: 10), seed: 1)
        var rng = SeededGenerator(seed: 2)
        let small = randomTensor([2, 8, 8, 1], &rng)
        _ = model.forward(small, training: true)
        let big = randomTensor([64, 8, 8, 1], &rng)
        let a = model.forward(big, training: false)
        let b = model.forward(big, training: false)
        XCTAssertEqual(a, b)
        // Evaluation of one sample alone equals its row in the batch (no batch statistics).
        let one = Tensor(shape: [1, 8, 8, 1], storage: Array(big.storage[0..<64]))
        XCTAssertEqual(model.forward(one, training: false).storage, Array(a.storage[0..<10]))
    }
}
