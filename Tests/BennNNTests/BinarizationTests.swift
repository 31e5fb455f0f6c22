import XCTest
import BennNN
import BennRandom
import BennTensor

final class BinarizationTests: XCTestCase {
    func testSignOfZeroIsPlusOne() {
        XCTAssertEqual(Binarize.sign(0), 1)
        XCTAssertEqual(Binarize.sign(-0.0), 1)
        XCTAssertEqual(Binarize.sign(-1e-30), -1)
        XCTAssertEqual(Binarize.sign(2), 1)
        let y = SignActivation().forward(Tensor(shape: [1, 4], storage: [0, -0.0, -3, 0.5]), training: false)
        XCTAssertEqual(y.storage, [1, 1, -1, 1])
    }

    func testStraightThroughPassesOnlyWhereAbsAtMostOne() {
        let s = SignActivation()
        let x = Tensor(shape: [1, 6], storage: [-1.5, -1, -0.3, 0, 1, 1.0001])
        _ = s.forward(x, training: true)
        let dx = s.backward(Tensor(shape: [1, 6], repeating: 2))
        XCTAssertEqual(dx.storage, [0, 2, 2, 2, 2, 0])
    }

    func testBinaryDenseUsesSignOfWeightsAndMasksWeightGradient() {
        var rng = SeededGenerator(seed: 1)
        let d = Dense(inputs: 3, outputs: 2, binaryWeights: true, binaryInput: false, name: "d", rng: &rng)
        d.weight.value = Tensor(shape: [2, 3], storage: [0.2, -0.7, 0, -0.1, 1.5, -2])
        let x = Tensor(shape: [1, 3], storage: [1, 2, 3])
        let y = d.forward(x, training: true)
        // sign(W) = [[1,-1,1],[-1,1,-1]]
        XCTAssertEqual(y.storage, [1 - 2 + 3, -1 + 2 - 3])
        d.weight.zeroGrad()
        let dx = d.backward(Tensor(shape: [1, 2], storage: [1, 1]))
        XCTAssertEqual(dx.storage, [0, 0, 0])
        // dW = dyᵀ x = [[1,2,3],[1,2,3]], zeroed where |W| > 1.
        XCTAssertEqual(d.weight.grad.storage, [1, 2, 3, 1, 0, 0])
    }

    func testLatentWeightsClippedAfterStep() {
        var rng = SeededGenerator(seed: 2)
        let d = Dense(inputs: 2, outputs: 1, binaryWeights: true, binaryInput: false, name: "d", rng: &rng)
        d.weight.value = Tensor(shape: [1, 2], storage: [0.999, -0.999])
        d.weight.grad = Tensor(shape: [1, 2], storage: [-100, 100])
        SGD(learningRate: 1, momentum: 0).step([d.weight])
        XCTAssertEqual(d.weight.value.storage, [1, -1])
        let f = Dense(inputs: 2, outputs: 1, binaryWeights: false, binaryInput: false, name: "f", rng: &rng)
        f.weight.value = Tensor(shape: [1, 2], storage: [0.5, 0.5])
        f.weight.grad = Tensor(shape: [1, 2], storage: [-100, 100])
        SGD(learningRate: 1, momentum: 0).step([f.weight])
        XCTAssertEqual(f.weight.value.storage, [100.5, -99.5], "float layers are not clipped")
    }

    func testBinaryConvolutionPadsWithPlusOne() {
        var rng = SeededGenerator(seed: 3)
        let conv = Conv2D(inChannels: 1, outChannels: 1, kernel: 3, stride: 1, pad: 1,
                          binaryWeights: true, binaryInput: true, name: "c", rng: &rng)
        conv.weight.value = Tensor(shape: [1, 3, 3, 1], repeating: 0.5)  // sign = +1 everywhere
        let x = Tensor(shape: [1, 2, 2, 1], repeating: -1)
        let y = conv.forward(x, training: false)
        // Each output sees the 4 image pixels (-1 each) and 5 padding taps (+1 each).
        XCTAssertEqual(y.storage, [1, 1, 1, 1])
        let real = Conv2D(inChannels: 1, outChannels: 1, kernel: 3, stride: 1, pad: 1,
                          binaryWeights: true, binaryInput: false, name: "r", rng: &rng)
        real.weight.value = conv.weight.value
        XCTAssertEqual(real.forward(x, training: false).storage, [-4, -4, -4, -4], "real inputs pad with 0")
    }
}

final class STEWindowTests: XCTestCase {
    /// After an optimizer step the clipped weights are known to be inside |w| <= 1, and the
    /// unmasked fast path must give exactly the masked gradient.
    func testFastPathAfterClippingEqualsMaskedGradient() {
        var rng = SeededGenerator(seed: 4)
        let d = Dense(inputs: 5, outputs: 3, binaryWeights: true, binaryInput: false, name: "d", rng: &rng)
        XCTAssertFalse(d.weight.staysInsideSTEWindow, "unknown until clipped")
        d.weight.grad = Tensor(shape: [3, 5], repeating: -10)
        SGD(learningRate: 1, momentum: 0).step([d.weight])
        XCTAssertTrue(d.weight.staysInsideSTEWindow)
        XCTAssertTrue(d.weight.value.storage.allSatisfy { abs($0) <= 1 })
        let x = randomTensor([4, 5], &rng)
        let dy = randomTensor([4, 3], &rng)
        d.weight.zeroGrad()
        _ = d.forward(x, training: true)
        _ = d.backward(dy)
        let fast = d.weight.grad
        d.weight.value = d.weight.value  // any assignment forgets the guarantee
        XCTAssertFalse(d.weight.staysInsideSTEWindow)
        d.weight.zeroGrad()
        _ = d.forward(x, training: true)
        _ = d.backward(dy)
        XCTAssertEqual(fast, d.weight.grad)
    }
}
