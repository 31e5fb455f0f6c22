import XCTest
@testable import BennNN
import BennRandom
import BennTensor

/// Gradient checks for the methods' differentiable blocks, and the quantizers' rules
/// pinned on small cases.
final class MethodBlockTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    func testRPReLUGradient() {
        var rng = SeededGenerator(seed: 3)
        let layer = RPReLU(channels: 5, name: "r")
        for j in 0..<5 {
            layer.shiftIn.value[j] = rng.uniform(-0.3, 0.3)
            layer.slope.value[j] = rng.uniform(-0.5, 0.5)
            layer.shiftOut.value[j] = rng.uniform(-0.3, 0.3)
        }
        // Keep inputs away from the kink at x = -shiftIn.
        var x = randomTensor([6, 5], &rng, scale: 2)
        for i in 0..<x.count where abs(x[i] + layer.shiftIn.value[i % 5]) < 0.05 { x[i] += 0.2 }
        checkGradients(layer, input: x, eps: 1e-3)
    }

    func testAveragePoolGradients() {
        var rng = SeededGenerator(seed: 4)
        checkGradients(AveragePool(size: 2), input: randomTensor([2, 4, 6, 3], &rng), eps: 1e-2)
        checkGradients(AveragePool(global: true), input: randomTensor([3, 5, 5, 4], &rng), eps: 1e-2)
    }

    /// Covering the edges, a 7-wide input pools to 4 with a last window one pixel wide; the
    /// default drops that pixel.
    func testAveragePoolCoveringEdges() {
        var x = Tensor(shape: [1, 3, 3, 1])
        for i in 0..<9 { x[i] = Float(i + 1) }
        let covering = AveragePool(size: 2, coversEdges: true)
        XCTAssertEqual(covering.outputShape(for: [3, 3, 1]), [2, 2, 1])
        let expected: [Float] = [12 / 4, 9 / 2, 15 / 2, 9]  // (1+2+4+5)/4, (3+6)/2, (7+8)/2, 9
        XCTAssertEqual(covering.forward(x, training: false).storage, expected)
        XCTAssertEqual(AveragePool(size: 2).forward(x, training: false).storage, [3])
        XCTAssertEqual(AveragePool(size: 2, coversEdges: true).outputShape(for: [7, 7, 16]), [4, 4, 16])
        var rng = SeededGenerator(seed: 5)
        checkGradients(AveragePool(size: 2, coversEdges: true), input: randomTensor([2, 7, 5, 3], &rng), eps: 1e-2)
        checkGradients(AveragePool(size: 3, coversEdges: true), input: randomTensor([2, 4, 6, 2], &rng), eps: 1e-2)
    }

    func testResidualGradientWithDownsamplingShortcut() throws {
        let d = ModelDescription(name: "res", inputShape: [6, 6, 3], classes: 4 * 3 * 3, layers: [
            .residual(body: [.conv(filters: 4, kernel: 3, stride: 2, same: true, binaryWeights: false), .batchNorm],
                      shortcut: [.conv(filters: 4, kernel: 1, stride: 2, same: false, binaryWeights: false), .batchNorm]),
        ])
        let model = try Sequential(d, seed: 5)
        var rng = SeededGenerator(seed: 6)
        checkGradients(model.layers[0], input: randomTensor([3, 6, 6, 3], &rng), eps: 1e-2, tolerance: 3e-2)
    }

    /// SD-BNN's activation shift x + sigmoid(W2·ReLU(W1·GAP(x))) against finite differences.
    func testSqueezeExcitationShiftGradient() {
        var rng = SeededGenerator(seed: 7)
        let se = SqueezeExcitation(channels: 6, hidden: 3, name: "se", rng: &rng)
        let x = randomTensor([2, 3, 3, 6], &rng)
        let r = randomTensor(x.shape, &rng)
        se.fc1.zeroGrad(); se.fc2.zeroGrad()
        _ = se.apply(x)
        let dx = se.backward(r)
        func loss(_ x: Tensor) -> Double { weightedSum(se.apply(x), r) }
        let eps: Float = 1e-2
        for i in stride(from: 0, to: x.count, by: 5) {
            var xp = x, xm = x
            xp[i] += eps; xm[i] -= eps
            let numeric = (loss(xp) - loss(xm)) / Double(2 * eps)
            XCTAssertEqual(Double(dx[i]), numeric, accuracy: 2e-2 * max(1, abs(numeric)), "dx[\(i)]")
        }
        for p in se.parameters {
            let grad = p.grad
            for i in 0..<p.value.count {
                let saved = p.value[i]
                p.value[i] = saved + eps; let lp = loss(x)
                p.value[i] = saved - eps; let lm = loss(x)
                p.value[i] = saved
                let numeric = (lp - lm) / Double(2 * eps)
                XCTAssertEqual(Double(grad[i]), numeric, accuracy: 2e-2 * max(1, abs(numeric)), "\(p.name)[\(i)]")
            }
        }
    }

    /// Every surrogate is the derivative of its smooth proxy.
    func testSurrogatesAreDerivativesOfTheirProxies() {
        let rules: [(Surrogate, Float)] = [(.ste, 1), (.approxSign, 1), (.ede(minimumTemperature: 1e-3, maximumTemperature: 10), 0.05),
                                           (.ede(minimumTemperature: 1e-3, maximumTemperature: 10), 3)]
        for (rule, t) in rules {
            for x in stride(from: Float(-1.9), through: 1.9, by: 0.13) where abs(abs(x) - 1) > 0.02 && abs(x) > 0.02 {
                let h: Float = 1e-3
                let numeric = (rule.proxy(x + h, temperature: t) - rule.proxy(x - h, temperature: t)) / (2 * h)
                XCTAssertEqual(rule.derivative(x, temperature: t), numeric, accuracy: 2e-2 * max(1, abs(numeric)), "\(rule) at \(x)")
            }
        }
        // EDE: t from 10^-3 to 10 log-linearly; k = max(1/t, 1).
        let ede = Surrogate.ede(minimumTemperature: 1e-3, maximumTemperature: 10)
        XCTAssertEqual(ede.temperature(epoch: 0, epochs: 4), 1e-3, accuracy: 1e-7)
        XCTAssertEqual(ede.temperature(epoch: 2, epochs: 4), 0.1, accuracy: 1e-6)
        XCTAssertEqual(ede.derivative(0, temperature: 1e-3), 1, accuracy: 1e-6)  // k·t = 1 while t < 1
        XCTAssertEqual(ede.derivative(0, temperature: 10), 10, accuracy: 1e-4)
    }

    /// SD-BNN's weight self-distribution: binarize W + sigmoid(a)·0.01·mean(W_o); the gate's
    /// gradient against finite differences of the EDE proxy (the mean held constant, as the
    /// method stops its gradient).
    func testWeightSelfDistributionGateGradient() {
        let rule = Surrogate.ede(minimumTemperature: 1e-3, maximumTemperature: 10)
        let q = WeightQuantizer(surrogate: rule, selfDistribution: true)
        let b = WeightBinarizer(q, outputs: 3, name: "w")
        b.temperature = 2
        var rng = SeededGenerator(seed: 8)
        let latent = Parameter(name: "w", value: randomTensor([3, 7], &rng), clipRange: -1...1)
        for o in 0..<3 { b.gate!.value[o] = rng.uniform(-2, 2) }
        for o in 0..<3 { for i in 0..<7 { latent.value[o * 7 + i] += 0.5 * Float(o) } }  // non-zero means
        let g = randomTensor([3, 7], &rng)
        let w = b.binarize(latent.value)
        XCTAssertEqual(w.scale, nil)
        b.accumulate(dEffective: g, into: latent)
        let means = (0..<3).map { o in 0.01 * (0..<7).map { latent.value[o * 7 + $0] }.reduce(0, +) / 7 }
        func loss(gate: [Float]) -> Double {
            var s = 0.0
            for o in 0..<3 {
                for i in 0..<7 {
                    let shifted = latent.value[o * 7 + i] + sigmoid(gate[o]) * means[o]
                    s += Double(g[o * 7 + i]) * Double(rule.proxy(shifted, temperature: 2))
                }
            }
            return s
        }
        for o in 0..<3 {
            var gp = b.gate!.value.storage, gm = gp
            gp[o] += 1e-2; gm[o] -= 1e-2
            let numeric = (loss(gate: gp) - loss(gate: gm)) / 2e-2
            XCTAssertEqual(Double(b.gate!.grad[o]), numeric, accuracy: 1e-3 * max(1, abs(numeric)))
        }
        // The signs are those of the shifted weights.
        for o in 0..<3 {
            for i in 0..<7 {
                let shifted = latent.value[o * 7 + i] + sigmoid(b.gate!.value[o]) * means[o]
                XCTAssertEqual(w.signs[o * 7 + i], shifted < 0 ? -1 : 1)
            }
        }
    }

    /// XNOR-Net's scale and full gradient, Bi-Real's magnitude-aware one, on a hand case.
    func testScaledWeightGradientsByHand() {
        let w: [Float] = [0.5, -0.25, 1.0, -2.0]  // |w| > 1 at index 3 (unclipped on purpose)
        let g: [Float] = [1, 2, -1, 3]
        let alpha: Float = (0.5 + 0.25 + 1 + 2) / 4
        func run(_ gradient: WeightQuantizer.Gradient) -> [Float] {
            let b = WeightBinarizer(WeightQuantizer(scale: .meanAbsolute, gradient: gradient), outputs: 1, name: "w")
            let p = Parameter(name: "w", value: Tensor(shape: [1, 4], storage: w))
            let out = b.binarize(p.value)
            XCTAssertEqual(out.scale, [alpha])
            XCTAssertEqual(out.effective.storage, [alpha, -alpha, alpha, -alpha])
            b.accumulate(dEffective: Tensor(shape: [1, 4], storage: g), into: p)
            return p.grad.storage
        }
        XCTAssertEqual(run(.straightThrough), [1, 2, -1, 0])
        XCTAssertEqual(run(.magnitudeAware), [alpha, 2 * alpha, -alpha, 0])
        // (1/n)·sign(w_i)·Σ_j g_j·sign(w_j) + α·1[|w_i| <= 1]·g_i, with Σ g·sign(w) = 1 - 2 - 1 - 3 = -5.
        let full = run(.xnor)
        let expected: [Float] = [-5 / 4 + alpha, 5 / 4 + 2 * alpha, -5 / 4 - alpha, 5 / 4]
        for i in 0..<4 { XCTAssertEqual(full[i], expected[i], accuracy: 1e-6) }
    }

    /// RSign: sign(x + b) with the ApproxSign surrogate; the bias gradient sums the
    /// surrogate-weighted gradient per channel.
    func testRSignBiasGradient() {
        var rng = SeededGenerator(seed: 9)
        let act = SignActivation(ActivationQuantizer(surrogate: .approxSign, shift: .learnable), channels: 2, name: "a", rng: &rng)
        act.bias!.value[0] = 0.25
        act.bias!.value[1] = -0.5
        let x = Tensor(shape: [2, 2], storage: [-0.5, 0.2, 0.1, 0.9])
        let y = act.forward(x, training: true)
        XCTAssertEqual(y.storage, [-1, -1, 1, 1])  // -0.25, -0.3, 0.35, 0.4
        let dx = act.backward(Tensor(shape: [2, 2], storage: [1, 1, 1, 1]))
        let d: [Float] = [2 - 2 * 0.25, 2 - 2 * 0.3, 2 - 2 * 0.35, 2 - 2 * 0.4]
        for i in 0..<4 { XCTAssertEqual(dx[i], d[i], accuracy: 1e-6) }
        XCTAssertEqual(act.bias!.grad[0], d[0] + d[2], accuracy: 1e-6)
        XCTAssertEqual(act.bias!.grad[1], d[1] + d[3], accuracy: 1e-6)
    }

    /// Bi-Real's clip initialization: with the sign switched off the activation is
    /// clip(x + b, -1, 1), and its gradient (input and bias) is that function's own, checked
    /// by finite differences away from the kinks at ±1.
    func testClippedActivationOfThePretrainingStep() {
        var rng = SeededGenerator(seed: 4)
        let act = SignActivation(ActivationQuantizer(surrogate: .approxSign, shift: .learnable), channels: 3, name: "a", rng: &rng)
        act.bias!.value.storage = [0.1, -0.2, 0.05]
        act.activationsBinarized = false
        var x = randomTensor([4, 3], &rng, scale: 2)
        for i in 0..<x.count where abs(abs(x[i] + act.bias!.value[i % 3]) - 1) < 0.05 { x[i] = 0.3 }
        let y = act.forward(x, training: true)
        for i in 0..<x.count { XCTAssertEqual(y[i], min(max(x[i] + act.bias!.value[i % 3], -1), 1)) }
        XCTAssertTrue(y.storage.contains { abs($0) < 1 }, "some activations stay real")
        XCTAssertTrue(y.storage.contains { abs($0) == 1 }, "some activations are clipped")
        checkGradients(act, input: x, eps: 1e-3)

        act.activationsBinarized = true
        XCTAssertTrue(act.forward(x, training: false).storage.allSatisfy { $0 == 1 || $0 == -1 })
    }

    /// XNOR-Net's activation scaling around a real layer (so finite differences apply).
    func testInputScaledGradient() throws {
        let d = ModelDescription(name: "s", inputShape: [6], classes: 4, layers: [
            .inputScaled(body: [.dense(units: 4, binaryWeights: false)]),
        ])
        let model = try Sequential(d, seed: 2)
        var rng = SeededGenerator(seed: 3)
        var x = randomTensor([3, 6], &rng)
        for i in 0..<x.count where abs(x[i]) < 0.05 { x[i] = 0.3 }  // away from the kink of |x|
        checkGradients(model.layers[0], input: x, eps: 1e-3)
    }

    /// XNOR-Net's spatial map K around a real convolution with padding and stride, so the
    /// box filter's edges and gaps are checked by finite differences.
    func testInputScaledSpatialGradient() throws {
        for (stride, same) in [(1, true), (2, false)] {
            let side = same ? 5 : 2
            let d = ModelDescription(name: "s", inputShape: [5, 5, 3], classes: side * side * 4, layers: [
                .inputScaled(body: [.conv(filters: 4, kernel: 3, stride: stride, same: same, binaryWeights: false)]), .flatten,
            ])
            let model = try Sequential(d, seed: 2)
            let layer = try XCTUnwrap(model.layers[0] as? InputScaled)
            XCTAssertEqual(layer.window?.stride, stride)
            var rng = SeededGenerator(seed: 3)
            var x = randomTensor([2, 5, 5, 3], &rng)
            for i in 0..<x.count where abs(x[i]) < 0.05 { x[i] = 0.3 }  // away from the kink of |x|
            checkGradients(layer, input: x, eps: 1e-3)
        }
    }

    /// K by hand: a 3x3 "same" window over a 2x2 image of channel means 1, 2, 3, 4 averages
    /// the four pixels (zero padding counts in the divisor) at every output pixel.
    func testSpatialScalesByHand() throws {
        let d = ModelDescription(name: "s", inputShape: [2, 2, 2], classes: 4, layers: [
            .inputScaled(body: [.conv(filters: 1, kernel: 3, stride: 1, same: true, binaryWeights: false)]), .flatten,
        ])
        let layer = try XCTUnwrap(try Sequential(d, seed: 1).layers[0] as? InputScaled)
        // Channel means of |x| per pixel: 1, 2, 3, 4.
        let x: [Float] = [1, -1, 2, -2, -3, 3, 4, 4]
        let k = x.withUnsafeBufferPointer { layer.scales($0.baseAddress!, batch: 1, shape: [2, 2, 2]) }
        let expected: Float = 10 / 9
        XCTAssertEqual(k, [expected, expected, expected, expected])
    }

    func testMethodsBuildEveryModel() throws {
        for model in ["bcnn", "bmlp", "breal18", "tinycnn", "tinymlp", "tinyres"] {
            for name in MethodSpec.Name.allCases {
                let d = try ModelZoo.description(named: model, method: MethodSpec(name))
                let m = try Sequential(d, seed: 1)
                XCTAssertEqual(m.shapes.last?.reduce(1, *), 10, "\(model)/\(name)")
            }
        }
        XCTAssertThrowsError(try ModelZoo.description(named: "fcnn", method: MethodSpec(.xnor)))
        // bnn on bcnn is exactly the benchmark definition.
        XCTAssertEqual(try ModelZoo.description(named: "bcnn", method: MethodSpec(.bnn)), try ModelZoo.description(named: "bcnn"))
    }

    /// `block_order: xnor`: XNOR-Net's block, batch norm in front of every sign and none
    /// right after a binary layer (so α reaches the residual sums and the logits).
    func testXNORBlockOrderPutsTheBatchNormInFrontOfTheSign() throws {
        var method = MethodSpec(.xnor)
        method.blockOrder = .xnor
        func flat(_ layers: [LayerSpec]) -> [LayerSpec] {
            layers.flatMap { layer -> [LayerSpec] in
                if case let .residual(body, _) = layer { return flat(body) }
                if case let .inputScaled(body) = layer { return flat(body) }
                return [layer]
            }
        }
        func isBinary(_ l: LayerSpec) -> Bool {
            switch l {
            case let .conv(_, kernel, _, _, binaryWeights): return binaryWeights && kernel == 3
            case let .dense(_, binaryWeights): return binaryWeights
            case .binaryConv, .binaryDense: return true
            default: return false
            }
        }
        for model in ["bcnn", "bmlp", "breal18"] {
            let top = try ModelZoo.description(named: model, method: method).layers
            let layers = flat(top)
            var signs = 0
            for (i, layer) in layers.enumerated() {
                if case .sign = layer {
                    signs += 1
                    XCTAssertEqual(layers[i - 1], .batchNorm, "\(model): layer \(i)")
                    XCTAssertTrue(isBinary(layers[i + 1]), "\(model): layer \(i + 1)")
                }
            }
            // What a binary layer computes goes on unnormalized: into the residual sum, or
            // out as the logits.
            if model == "breal18" {
                for case let .residual(body, _) in top { XCTAssertTrue(isBinary(body.last!), "\(body)") }
            } else {
                XCTAssertTrue(isBinary(top.last!), "\(model): \(top.last!)")
            }
            XCTAssertGreaterThan(signs, 1, model)
            // The default order is unchanged: same parameter count, different layout.
            XCTAssertNotEqual(try ModelZoo.description(named: model, method: method), try ModelZoo.description(named: model, method: MethodSpec(.xnor)))
        }
    }

    /// `resnet_shortcut`: bnn and xnor binarize the standard ResNet block (one shortcut
    /// around each pair of binary convolutions), the other methods put one around every
    /// binary convolution; the option overrides either way, and the weights are the same.
    func testResNetShortcutPlacement() throws {
        /// Per residual: how many binary 3x3 convolutions its body holds.
        func bodies(_ layers: [LayerSpec]) -> [Int] {
            layers.compactMap { layer -> Int? in
                guard case let .residual(body, _) = layer else { return nil }
                return body.filter {
                    if case let .conv(_, kernel, _, _, binaryWeights) = $0 { return kernel == 3 && binaryWeights }
                    if case .binaryConv = $0 { return true }
                    return false
                }.count
            }
        }
        for name in MethodSpec.Name.allCases {
            var method = MethodSpec(name)
            let pairedByDefault = name == .bnn || name == .xnor
            let byDefault = try ModelZoo.description(named: "breal18", method: method)
            XCTAssertEqual(bodies(byDefault.layers), Array(repeating: pairedByDefault ? 2 : 1, count: pairedByDefault ? 8 : 16), "\(name)")
            method.resnetShortcut = .perConv
            let perConv = try ModelZoo.description(named: "breal18", method: method)
            XCTAssertEqual(bodies(perConv.layers), Array(repeating: 1, count: 16), "\(name)")
            method.resnetShortcut = .perBlock
            let perBlock = try ModelZoo.description(named: "breal18", method: method)
            XCTAssertEqual(bodies(perBlock.layers), Array(repeating: 2, count: 8), "\(name)")
            XCTAssertEqual(try Sequential(perConv, seed: 1).parameterCount, try Sequential(perBlock, seed: 1).parameterCount, "\(name)")
            // The plain models have no ResNet blocks: the option leaves them alone.
            XCTAssertEqual(try ModelZoo.description(named: "bcnn", method: method), try ModelZoo.description(named: "bcnn", method: MethodSpec(name)))
        }
        // The float twin keeps a shortcut around every convolution.
        XCTAssertEqual(try ModelZoo.description(named: "freal18").layers.filter {
            if case .residual = $0 { return true }
            return false
        }.count, 16)
    }

    /// `resnet_downsample: avg_pool`: each stride-2 shortcut pools every pixel, then projects
    /// with a stride-1 1x1 convolution; `strided` projects with stride 2. Unset, Bi-Real pools
    /// and the other methods stride. Same parameters,
    /// same output shapes (the 7x7 stage pools to 4x4), under either shortcut placement.
    func testResNetDownsamplingShortcut() throws {
        /// Per shortcut that changes the shape: its layers in order.
        func projections(_ layers: [LayerSpec]) -> [[LayerSpec]] {
            layers.compactMap { layer -> [LayerSpec]? in
                guard case let .residual(_, shortcut) = layer, !shortcut.isEmpty else { return nil }
                return shortcut
            }
        }
        for name in MethodSpec.Name.allCases {
            for placement in MethodSpec.ShortcutPlacement.allCases {
                var method = MethodSpec(name)
                method.resnetShortcut = placement
                XCTAssertEqual(try ModelZoo.description(named: "breal18", method: method),
                               try ModelZoo.description(named: "breal18", method: {
                                   var m = method
                                   m.resnetDownsample = name == .bireal ? .averagePool : .strided
                                   return m
                               }()), "\(name) \(placement): the default")
                method.resnetDownsample = .strided
                let strided = try ModelZoo.description(named: "breal18", method: method)
                XCTAssertEqual(projections(strided.layers), [32, 64, 128].map {
                    [.conv(filters: $0, kernel: 1, stride: 2, same: false, binaryWeights: false), .batchNorm]
                }, "\(name) \(placement)")
                method.resnetDownsample = .averagePool
                let pooled = try ModelZoo.description(named: "breal18", method: method)
                XCTAssertEqual(projections(pooled.layers), [32, 64, 128].map {
                    [.averagePoolCoveringEdges(size: 2), .conv(filters: $0, kernel: 1, stride: 1, same: false, binaryWeights: false), .batchNorm]
                }, "\(name) \(placement)")
                let a = try Sequential(strided, seed: 1), b = try Sequential(pooled, seed: 1)
                XCTAssertEqual(a.parameterCount, b.parameterCount, "\(name) \(placement)")
                XCTAssertEqual(b.shapes.last, [10])
                XCTAssertEqual(try ModelZoo.description(named: "bcnn", method: method), try ModelZoo.description(named: "bcnn", method: MethodSpec(name)))
            }
        }
    }

    /// SD-BNN's block activations: one per binary block, none after the logits; on breal18
    /// hardtanh after each residual sum and PReLU at the end of each residual's branch.
    func testSDBNNBlockActivationInEveryBlockButTheLogits() throws {
        for (kind, layerType) in [(MethodSpec.BlockActivation.hardtanh, HardTanh.self as Layer.Type), (.prelu, PReLU.self)] {
            func isBlockActivation(_ layer: Layer) -> Bool { ObjectIdentifier(type(of: layer)) == ObjectIdentifier(layerType) }
            var method = MethodSpec(.sdbnn)
            method.blockActivation = kind
            for model in ["bcnn", "bmlp", "breal18"] {
                var none = MethodSpec(.sdbnn)
                none.blockActivation = .noActivation
                let plain = try Sequential(try ModelZoo.description(named: model, method: none), seed: 1)
                let m = try Sequential(try ModelZoo.description(named: model, method: method), seed: 1)
                let binaryLayers = plain.allLayers.filter { $0 is SignActivation }.count
                // One after every binary block; on the plain models the classifier block is
                // binary too and gets none.
                let expected = model == "breal18" ? binaryLayers : binaryLayers - 1
                XCTAssertEqual(m.allLayers.filter(isBlockActivation).count, expected, "\(model)/\(kind)")
                XCTAssertEqual(m.allLayers.count, plain.allLayers.count + expected, "\(model)/\(kind)")
                XCTAssertFalse(isBlockActivation(m.allLayers.last!), "\(model)/\(kind): nothing after the logits")
                XCTAssertEqual(m.shapes.last, [10])
            }
            // On breal18 hardtanh follows each residual sum; PReLU ends each residual's branch.
            let layers = try ModelZoo.description(named: "breal18", method: method).layers
            let residuals = layers.compactMap { layer -> [LayerSpec]? in
                if case let .residual(body, _) = layer { return body }
                return nil
            }
            XCTAssertEqual(residuals.count, 16)
            for (i, layer) in layers.enumerated() {
                guard case .residual(let body, _) = layer else { continue }
                if kind == .prelu {
                    XCTAssertEqual(body.last, .prelu)
                    XCTAssertNotEqual(layers[i + 1], .prelu)
                } else {
                    XCTAssertEqual(layers[i + 1], .hardTanh)
                    XCTAssertFalse(body.contains(.hardTanh))
                }
            }
        }
    }

    /// `real_first_last`: the first layer's weights and the classifier (weights and input)
    /// turn real on the plain models, every binary layer between stays binary, and the
    /// ResNets, already real at both ends, do not change.
    func testRealFirstLastKeepsOnlyTheEndsReal() throws {
        func weighted(_ m: Sequential) -> [(binaryWeights: Bool, binaryInput: Bool)] {
            m.allLayers.compactMap { layer in
                if let d = layer as? Dense { return (d.binaryWeights, d.binaryInput) }
                if let c = layer as? Conv2D, c.kernel == 3 { return (c.binaryWeights, c.binaryInput) }
                return nil
            }
        }
        for model in ["bcnn", "bmlp", "tinycnn", "tinymlp"] {
            for name in MethodSpec.Name.allCases {
                var method = MethodSpec(name)
                let binary = weighted(try Sequential(try ModelZoo.description(named: model, method: method), seed: 1))
                method.realFirstLast = true
                let d = try ModelZoo.description(named: model, method: method)
                let m = try Sequential(d, seed: 1)
                let layers = weighted(m)
                XCTAssertEqual(layers.count, binary.count, "\(model)/\(name)")
                XCTAssertTrue(binary.allSatisfy { $0.binaryWeights }, "\(model)/\(name)")
                XCTAssertTrue(binary.last!.binaryInput, "\(model)/\(name)")
                XCTAssertFalse(layers.first!.binaryWeights, "\(model)/\(name): first layer")
                XCTAssertFalse(layers.last!.binaryWeights || layers.last!.binaryInput, "\(model)/\(name): classifier")
                XCTAssertTrue(layers.dropFirst().dropLast().allSatisfy { $0.binaryWeights && $0.binaryInput }, "\(model)/\(name)")
                XCTAssertEqual(m.shapes.last, [10], "\(model)/\(name)")
                XCTAssertFalse(m.allLayers.last is RPReLU, "\(model)/\(name)")
            }
        }
        var method = MethodSpec(.reactnet)
        method.realFirstLast = true
        XCTAssertEqual(try ModelZoo.description(named: "breal18", method: method), try ModelZoo.description(named: "breal18", method: MethodSpec(.reactnet)))
    }
}
