import XCTest
import BennNN
import BennRandom
import BennTensor

/// Central finite differences of L = Σ r ⊙ layer(x) against the layer's backward pass.
func randomTensor(_ shape: [Int], _ rng: inout SeededGenerator, scale: Float = 1) -> Tensor {
    var t = Tensor(shape: shape)
    for i in 0..<t.count { t[i] = rng.uniform(-scale, scale) }
    return t
}

func weightedSum(_ y: Tensor, _ r: Tensor) -> Double {
    var s = 0.0
    for i in 0..<y.count { s += Double(y[i]) * Double(r[i]) }
    return s
}

func checkGradients(_ layer: Layer, input: Tensor, seed: UInt64 = 1, eps: Float = 1e-2,
                    tolerance: Double = 2e-2, checkInput: Bool = true,
                    file: StaticString = #filePath, line: UInt = #line) {
    var rng = SeededGenerator(seed: seed)
    let y0 = layer.forward(input, training: true)
    let r = randomTensor(y0.shape, &rng)
    for p in layer.parameters { p.zeroGrad() }
    _ = layer.forward(input, training: true)
    let dx = layer.backward(r)

    func loss(_ x: Tensor) -> Double { weightedSum(layer.forward(x, training: true), r) }

    func compare(_ analytic: Float, _ numeric: Double, _ what: String) {
        let err = abs(Double(analytic) - numeric) / max(1, abs(numeric), abs(Double(analytic)))
        XCTAssertLessThan(err, tolerance, "\(what): analytic \(analytic) numeric \(numeric)", file: file, line: line)
    }

    if checkInput {
        XCTAssertEqual(dx.shape, input.shape, file: file, line: line)
        for i in stride(from: 0, to: input.count, by: max(1, input.count / 40)) {
            var xp = input, xm = input
            xp[i] += eps; xm[i] -= eps
            compare(dx[i], (loss(xp) - loss(xm)) / Double(2 * eps), "dx[\(i)]")
        }
    }
    for p in layer.parameters {
        let grad = p.grad
        for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 40)) {
            let saved = p.value[i]
            p.value[i] = saved + eps
            let lp = loss(input)
            p.value[i] = saved - eps
            let lm = loss(input)
            p.value[i] = saved
            compare(grad[i], (lp - lm) / Double(2 * eps), "\(p.name)[\(i)]")
        }
    }
}
