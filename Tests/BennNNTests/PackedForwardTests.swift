import XCTest
import BennNN
import BennRandom
import BennTensor

/// Binary x binary layers on packed kernels must give exactly the float result on ±1 values.
final class PackedForwardTests: XCTestCase {
    override func tearDown() { BinaryForward.usePackedKernels = true }

    private func signs(_ shape: [Int], _ rng: inout SeededGenerator) -> Tensor {
        var t = Tensor(shape: shape)
        for i in 0..<t.count { t[i] = rng.nextFloat() < 0.5 ? -1 : 1 }
        return t
    }

    private func bothPaths(_ layer: Layer, _ x: Tensor) -> (Tensor, Tensor) {
        BinaryForward.usePackedKernels = true
        let packed = layer.forward(x, training: true)
        BinaryForward.usePackedKernels = false
        let float = layer.forward(x, training: true)
        BinaryForward.usePackedKernels = true
        return (packed, float)
    }

    func testDensePackedEqualsFloat() {
        Parallelism.threads = 2
        var rng = SeededGenerator(seed: 1)
        for (inputs, outputs, batch) in [(1, 3, 1), (63, 5, 7), (64, 64, 2), (65, 17, 3), (577, 10, 13), (2048, 33, 5)] {
            let d = Dense(inputs: inputs, outputs: outputs, binaryWeights: true, binaryInput: true, name: "d", rng: &rng)
            d.weight.value[0] = 0  // sign(0) = +1 on both paths
            let (p, f) = bothPaths(d, signs([batch, inputs], &rng))
            XCTAssertEqual(p, f, "dense \(inputs)->\(outputs) batch \(batch)")
        }
    }

    func testConvolutionPackedEqualsFloatWithPlusOnePadding() {
        Parallelism.threads = 2
        var rng = SeededGenerator(seed: 2)
        for (cin, cout, size, stride, pad, batch) in [(1, 4, 5, 1, 1, 1), (3, 8, 6, 2, 1, 2), (64, 16, 7, 1, 1, 3),
                                                        (65, 5, 4, 1, 0, 2), (128, 9, 5, 2, 0, 1)] {
            let c = Conv2D(inChannels: cin, outChannels: cout, kernel: 3, stride: stride, pad: pad,
                           binaryWeights: true, binaryInput: true, name: "c", rng: &rng)
            let (p, f) = bothPaths(c, signs([batch, size, size, cin], &rng))
            XCTAssertEqual(p, f, "conv cin \(cin) cout \(cout) size \(size) stride \(stride) pad \(pad)")
        }
    }

    func testBinaryModelTrainsIdenticallyOnBothPaths() throws {
        Parallelism.threads = 2
        func train(packed: Bool) throws -> [Tensor] {
            BinaryForward.usePackedKernels = packed
            let model = try Sequential(ModelZoo.description(named: "tinycnn", inputShape: [8, 8, 1], classes: 10), seed: 3)
            var rng = SeededGenerator(seed: 4)
            let x = randomTensor([6, 8, 8, 1], &rng)
            let adam = Adam()
            for _ in 0..<3 {
                model.zeroGrad()
                let out = model.forward(x, training: true)
                model.backward(Loss.softmaxCrossEntropy(logits: out, labels: [0, 1, 2, 3, 4, 5]).gradient)
                adam.step(model.parameters)
            }
            return model.namedTensors.map(\.tensor)
        }
        XCTAssertEqual(try train(packed: true), try train(packed: false))
    }
}
