import XCTest
import BennNN
import BennRandom
import BennTensor

final class LayerGradientTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    func testDenseFloatGradient() {
        var rng = SeededGenerator(seed: 3)
        let layer = Dense(inputs: 7, outputs: 5, binaryWeights: false, binaryInput: false, name: "d", rng: &rng)
        checkGradients(layer, input: randomTensor([4, 7], &rng))
    }

    func testConvFloatGradientSamePadding() {
        var rng = SeededGenerator(seed: 4)
        let layer = Conv2D(inChannels: 3, outChannels: 4, kernel: 3, stride: 1, pad: 1,
                           binaryWeights: false, binaryInput: false, name: "c", rng: &rng)
        checkGradients(layer, input: randomTensor([3, 5, 6, 3], &rng))
    }

    func testConvFloatGradientStrideTwoNoPadding() {
        var rng = SeededGenerator(seed: 5)
        let layer = Conv2D(inChannels: 2, outChannels: 3, kernel: 3, stride: 2, pad: 0,
                           binaryWeights: false, binaryInput: false, name: "c", rng: &rng)
        checkGradients(layer, input: randomTensor([2, 7, 7, 2], &rng))
    }

    func testBatchNormGradient() {
        var rng = SeededGenerator(seed: 6)
        let layer = BatchNorm(channels: 3, name: "bn")
        for i in 0..<3 { layer.gamma.value[i] = rng.uniform(0.5, 1.5); layer.beta.value[i] = rng.uniform(-0.5, 0.5) }
        checkGradients(layer, input: randomTensor([6, 2, 2, 3], &rng, scale: 2), eps: 1e-2, tolerance: 3e-2)
    }

    func testMaxPoolGradient() {
        var rng = SeededGenerator(seed: 7)
        // Distinct values so no tie sits within eps of another.
        var x = Tensor(shape: [2, 4, 4, 3])
        let perm = rng.permutation(x.count)
        for i in 0..<x.count { x[i] = Float(perm[i]) * 0.1 }
        checkGradients(MaxPool2D(size: 2), input: x, eps: 1e-3)
    }

    func testPReLUGradient() {
        var rng = SeededGenerator(seed: 8)
        var x = randomTensor([5, 4], &rng)
        for i in 0..<x.count where abs(x[i]) < 0.05 { x[i] = 0.3 }
        checkGradients(PReLU(channels: 4, initialSlope: 0.2), input: x, eps: 1e-3)
    }

    func testReLUAndHardTanhGradientAwayFromKinks() {
        var rng = SeededGenerator(seed: 9)
        var x = randomTensor([4, 6], &rng, scale: 2)
        for i in 0..<x.count where abs(x[i]) < 0.05 || abs(abs(x[i]) - 1) < 0.05 { x[i] = 0.5 }
        checkGradients(ReLU(), input: x, eps: 1e-3)
        checkGradients(HardTanh(), input: x, eps: 1e-3)
    }

    func testSoftmaxCrossEntropyGradientWithWeightsAndSmoothing() {
        var rng = SeededGenerator(seed: 10)
        let logits = randomTensor([4, 5], &rng, scale: 3)
        let labels: [Int32] = [0, 3, 4, 1]
        let weights: [Float] = [0.5, 2, 1, 0.25]
        let (_, grad) = Loss.softmaxCrossEntropy(logits: logits, labels: labels, weights: weights, labelSmoothing: 0.1)
        let eps: Float = 1e-2
        for i in 0..<logits.count {
            var p = logits, m = logits
            p[i] += eps; m[i] -= eps
            let lp = Loss.softmaxCrossEntropy(logits: p, labels: labels, weights: weights, labelSmoothing: 0.1).loss
            let lm = Loss.softmaxCrossEntropy(logits: m, labels: labels, weights: weights, labelSmoothing: 0.1).loss
            XCTAssertEqual(grad[i], (lp - lm) / (2 * eps), accuracy: 2e-3)
        }
    }

    func testCrossEntropyValueAndWeighting() {
        // Uniform logits: loss is ln(C) whatever the weights.
        let logits = Tensor(shape: [2, 4])
        let l = Loss.softmaxCrossEntropy(logits: logits, labels: [0, 1], weights: [3, 1]).loss
        XCTAssertEqual(l, logf(4), accuracy: 1e-6)
        // A zero-weight sample contributes neither loss nor gradient.
        var z = Tensor(shape: [2, 2])
        z[0] = 5
        let (lw, gw) = Loss.softmaxCrossEntropy(logits: z, labels: [1, 0], weights: [0, 1])
        XCTAssertEqual(lw, logf(2), accuracy: 1e-6)
        XCTAssertEqual(gw[0], 0); XCTAssertEqual(gw[1], 0)
    }

    func testDistillationGradient() {
        var rng = SeededGenerator(seed: 11)
        let logits = randomTensor([3, 4], &rng, scale: 2)
        let teacher = Loss.softmax(randomTensor([3, 4], &rng, scale: 2))
        let (loss, grad) = Loss.distillation(logits: logits, teacherProbabilities: teacher)
        XCTAssertGreaterThan(loss, 0)
        let eps: Float = 1e-2
        for i in 0..<logits.count {
            var p = logits, m = logits
            p[i] += eps; m[i] -= eps
            let num = (Loss.distillation(logits: p, teacherProbabilities: teacher).loss
                       - Loss.distillation(logits: m, teacherProbabilities: teacher).loss) / (2 * eps)
            XCTAssertEqual(grad[i], num, accuracy: 2e-3)
        }
        // Identical distributions: zero loss.
        XCTAssertEqual(Loss.distillation(logits: logits, teacherProbabilities: Loss.softmax(logits)).loss, 0, accuracy: 1e-6)
    }
}

#if canImport(Glibc)
import Glibc
#endif
