import XCTest
import BennData
import BennNN
import BennRandom
import BennTensor
import BennTrain

/// XNOR-Net-PyTorch's latent-weight constraint (`mean_center`): the latent weights of every
/// binary convolution with binary inputs stay mean-centred over the input channels.
final class MeanCenteringTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    func xnorSpec(meanCenter: Bool?) -> TrainingSpec {
        var spec = TrainingSpec()
        spec.model = "tinycnn"
        spec.seed = 3
        spec.method.name = .xnor
        spec.method.meanCenter = meanCenter
        spec.train.epochs = 2
        spec.train.batchSize = 16
        spec.train.learningRate = 0.01
        return spec
    }

    /// The largest |mean over input channels| of any (output, row, column) fibre.
    func largestFibreMean(_ conv: Conv2D) -> Float {
        let w = conv.weight.value.storage, c = conv.inChannels
        return stride(from: 0, to: w.count, by: c).map { abs(w[$0..<($0 + c)].reduce(0, +) / Float(c)) }.max()!
    }

    func testCentringZeroesEveryFibreMeanAndSkipsRealInputs() {
        var rng = SeededGenerator(seed: 5)
        let binary = Conv2D(inChannels: 8, outChannels: 4, kernel: 3, stride: 1, pad: 1,
                            quantizer: .sign, binaryInput: true, name: "b", rng: &rng)
        // Push every weight up, so the fibres' means are far from 0 before centring.
        binary.weight.value = Tensor(shape: binary.weight.value.shape, storage: binary.weight.value.storage.map { $0 * 0.5 + 0.3 })
        XCTAssertGreaterThan(largestFibreMean(binary), 0.2)
        let before = binary.weight.value.storage
        binary.centerLatentWeightsOverInputChannels()
        XCTAssertLessThan(largestFibreMean(binary), 1e-6)
        // Within a fibre every weight moved by the same amount (nothing was clipped here).
        let moved = zip(binary.weight.value.storage, before).map { $0 - $1 }
        for f in stride(from: 0, to: moved.count, by: 8) {
            XCTAssertEqual(moved[f..<(f + 8)].max()! - moved[f..<(f + 8)].min()!, 0, accuracy: 1e-6)
        }
        // Real weights, and binary weights on real pixels (one input channel), stay as they are.
        let real = Conv2D(inChannels: 8, outChannels: 4, kernel: 3, stride: 1, pad: 1,
                          quantizer: nil, binaryInput: true, name: "r", rng: &rng)
        let first = Conv2D(inChannels: 1, outChannels: 4, kernel: 3, stride: 1, pad: 1,
                           quantizer: .sign, binaryInput: false, name: "f", rng: &rng)
        let (realBefore, firstBefore) = (real.weight.value, first.weight.value)
        real.centerLatentWeightsOverInputChannels()
        first.centerLatentWeightsOverInputChannels()
        XCTAssertEqual(real.weight.value, realBefore)
        XCTAssertEqual(first.weight.value, firstBefore)
    }

    func testTrainingKeepsTheConstraintAndWithoutItTheFibresDrift() throws {
        let data = DatasetView.all(try syntheticImages(count: 64, seed: 21))
        let centred = try Trainer(spec: xnorSpec(meanCenter: true), inputShape: [8, 8, 1], classes: 10)
        var afterEachEpoch: [Float] = []
        let convs = centred.model.allLayers.compactMap { $0 as? Conv2D }.filter { $0.quantizer != nil && $0.binaryInput }
        XCTAssertFalse(convs.isEmpty)
        try centred.fit(train: data, afterEpoch: { _ in afterEachEpoch.append(convs.map(self.largestFibreMean).max()!) })
        XCTAssertEqual(afterEachEpoch.count, 2)
        for m in afterEachEpoch { XCTAssertLessThan(m, 1e-5) }
        XCTAssertTrue(convs.allSatisfy { $0.weight.value.storage.allSatisfy { abs($0) <= 1 } })

        let plain = try Trainer(spec: xnorSpec(meanCenter: nil), inputShape: [8, 8, 1], classes: 10)
        try plain.fit(train: data)
        let plainConvs = plain.model.allLayers.compactMap { $0 as? Conv2D }.filter { $0.quantizer != nil && $0.binaryInput }
        XCTAssertGreaterThan(plainConvs.map(largestFibreMean).max()!, 1e-3, "without the option the fibres drift")
    }

    func testOptionIsXnorsAndParses() throws {
        let on = try SpecParser.parse("model: bcnn\nmethod: xnor\nmethod_options:\n  mean_center: true\n").method
        XCTAssertTrue(on.centersLatentWeights)
        XCTAssertFalse(try SpecParser.parse("model: bcnn\nmethod: xnor\n").method.centersLatentWeights)
        do {
            _ = try SpecParser.parse("model: bcnn\nmethod: bnn\nmethod_options:\n  mean_center: true\n")
            XCTFail("bnn accepted mean_center")
        } catch {
            XCTAssertTrue("\(error)".contains("unknown key 'mean_center' in method_options (method bnn)"), "\(error)")
        }
    }
}
