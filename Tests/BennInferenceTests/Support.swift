import XCTest
import BennNN
import BennRandom
import BennTensor
@testable import BennInference

/// Images like scaled Fashion-MNIST pixels: (p / 127.5 - 1) for p in 0...255.
func pixelImages(_ n: Int, _ shape: [Int], _ rng: inout SeededGenerator) -> Tensor {
    var t = Tensor(shape: [n] + shape)
    for i in 0..<t.count { t[i] = Float(rng.nextInt(below: 256)) / 127.5 - 1 }
    return t
}

/// A model with realistic but varied evaluation-mode state: a few Adam steps, running
/// statistics from training-mode passes, then every batch norm perturbed so that about a
/// third of the gammas are negative, betas and means are shifted and variances rescaled
/// (thresholds land inside the data's range instead of at the trivial ends).
func preparedModel(_ description: ModelDescription, seed: UInt64, trainSteps: Int = 3, batch: Int = 16,
                   statPasses: Int = 6) throws -> Sequential {
    let model = try Sequential(description, seed: seed)
    var rng = SeededGenerator(seed: seed &+ 1000)
    let adam = Adam(learningRate: 1e-2)
    for _ in 0..<trainSteps {
        let x = pixelImages(batch, description.inputShape, &rng)
        let labels = (0..<batch).map { _ in Int32(rng.nextInt(below: description.classes)) }
        model.zeroGrad()
        let out = model.forward(x, training: true)
        model.backward(Loss.softmaxCrossEntropy(logits: out, labels: labels).gradient)
        adam.step(model.parameters)
    }
    for _ in 0..<statPasses { _ = model.forward(pixelImages(batch, description.inputShape, &rng), training: true) }
    for layer in model.allLayers {
        guard let bn = layer as? BatchNorm else { continue }
        var mean = bn.runningMean, variance = bn.runningVar
        for j in 0..<bn.channels {
            let magnitude = rng.uniform(0.2, 2)
            bn.gamma.value[j] = rng.nextFloat() < 0.35 ? -magnitude : magnitude
            bn.beta.value[j] = rng.uniform(-0.5, 0.5)
            variance[j] *= rng.uniform(0.5, 2)
            mean[j] += rng.uniform(-0.5, 0.5) * variance[j].squareRoot()
        }
        let names = bn.buffers.map(\.name)
        bn.setBuffer(names[0], mean)
        bn.setBuffer(names[1], variance)
    }
    return model
}

/// Steps of a compiled network (internal, for structural assertions).
func steps(_ net: InferenceNetwork) -> [InferenceStep] { net.steps }

extension XCTestCase {
    /// Asserts that the folded network reproduces `Sequential.forward(_, training: false)`:
    /// identical argmax for every image and logits within `tolerance` (relative to the
    /// logits' scale). Returns the largest absolute logit difference.
    @discardableResult
    func assertMatchesReference(_ model: Sequential, _ net: InferenceNetwork, _ x: Tensor, threads: [Int] = [1, 2],
                                tolerance: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) -> Float {
        let reference = model.forward(x, training: false)
        let refClasses = InferenceNetwork.argmax(reference)
        var worst: Float = 0
        let scale = max(1, reference.storage.map(abs).max() ?? 1)
        for t in threads {
            let logits = net.predict(x, threads: t)
            XCTAssertEqual(logits.shape, reference.shape, file: file, line: line)
            XCTAssertEqual(InferenceNetwork.argmax(logits), refClasses, "argmax, threads \(t)", file: file, line: line)
            for i in 0..<min(logits.count, reference.count) { worst = max(worst, abs(logits[i] - reference[i])) }
            XCTAssertLessThanOrEqual(worst, tolerance * scale, "logits, threads \(t)", file: file, line: line)
        }
        return worst
    }
}
