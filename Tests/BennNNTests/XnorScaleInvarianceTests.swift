import XCTest
import BennNN
import BennRandom
import BennTensor

/// XNOR-Net's per-channel scale α = mean|W_o| in front of batch norm: training-mode batch
/// norm divides the scale out again, so the block computes bnn's function and, with XNOR-Net's
/// full gradient, passes back bnn's gradients (docs/methods.md explains why this matters for
/// the method table).
final class XnorScaleInvarianceTests: XCTestCase {
    func block(_ quantizer: WeightQuantizer, latent: Tensor?, rng: inout SeededGenerator) -> (Conv2D, BatchNorm) {
        let conv = Conv2D(inChannels: 8, outChannels: 6, kernel: 3, stride: 1, pad: 1,
                          quantizer: quantizer, binaryInput: true, name: "c", rng: &rng)
        if let latent { conv.weight.value = latent }
        return (conv, BatchNorm(channels: 6, name: "bn"))
    }

    func assertClose(_ a: Tensor, _ b: Tensor, _ what: String, relative: Float = 1e-3) {
        XCTAssertEqual(a.shape, b.shape, what)
        let scale = max(a.storage.map(abs).max()!, 1e-6)
        let worst = zip(a.storage, b.storage).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst / scale, relative, "\(what): largest difference \(worst) of \(scale)")
    }

    func testScaledBlockTrainsTheSameFunctionAsBnn() {
        var rng = SeededGenerator(seed: 17)
        let (bnnConv, bnnNorm) = block(.sign, latent: nil, rng: &rng)
        // Latent weights scaled 0.2x to 1.2x per output channel, so the α differ about six-fold.
        for o in 0..<6 {
            for i in 0..<72 { bnnConv.weight.value[o * 72 + i] *= Float(o + 1) * 0.2 }
        }
        let xnor = WeightQuantizer(scale: .meanAbsolute, gradient: .xnor)
        let (xnorConv, xnorNorm) = block(xnor, latent: bnnConv.weight.value, rng: &rng)
        let x = Tensor(shape: [4, 5, 5, 8], storage: (0..<800).map { _ in rng.uniform(-1, 1) < 0 ? -1 : 1 })
        let dy = randomTensor([4, 5, 5, 6], &rng)

        let yBnn = bnnNorm.forward(bnnConv.forward(x, training: true), training: true)
        let yXnor = xnorNorm.forward(xnorConv.forward(x, training: true), training: true)
        let alphas = xnorConv.binarizedWeights()!.scale!
        XCTAssertGreaterThan(alphas.max()! / alphas.min()!, 3, "the channels' scales differ")
        assertClose(yXnor, yBnn, "batch-norm outputs")

        let dxBnn = bnnConv.backward(bnnNorm.backward(dy))
        let dxXnor = xnorConv.backward(xnorNorm.backward(dy))
        assertClose(dxXnor, dxBnn, "input gradients")
        assertClose(xnorConv.weight.grad, bnnConv.weight.grad, "latent-weight gradients")
        assertClose(xnorNorm.gamma.grad, bnnNorm.gamma.grad, "batch-norm scale gradients")
    }
}
