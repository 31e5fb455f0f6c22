import XCTest
import BennKernels
import BennNN
import BennRandom
import BennTensor
@testable import BennInference

final class InferenceNetworkTests: XCTestCase {
    override func setUp() { Parallelism.threads = 1 }

    // MARK: Thresholds

    /// The folded rule must give the training path's Float bit for every popcount, including
    /// exact ties (y == 0 -> +1), negative, zero, tiny and huge scales.
    func testThresholdMatchesFloatBatchNormForEveryPopcount() {
        var rng = SeededGenerator(seed: 11)
        var cases: [(Float, Float, Int)] = [
            (1, -2, 10), (-1, 2, 10), (1, 0, 8), (-1, 0, 8), (0, -1, 5), (0, 1, 5), (0, 0, 5), (-0.0, 0, 5),
            (0.5, 3, 9), (-0.5, -3, 9), (1e-30, 1e-30, 64), (-1e-30, 5e-31, 64), (3, 1e6, 100), (-3, 1e6, 100),
            (.nan, 0, 7), (1, .nan, 7), (1 / 3, -1 / 3, 3), (-0.1, 0.3, 576),
        ]
        for _ in 0..<400 {
            let k = [1, 9, 63, 64, 576, 1152, 2048][rng.nextInt(below: 7)]
            let s = rng.uniform(-2, 2) / Float(k).squareRoot()
            // Shifts that put the zero crossing near an integer popcount, where rounding matters.
            let x0 = Float(rng.nextInt(below: k + 1))
            let nudge = Float(rng.nextInt(below: 5) - 2) * (s.magnitude.ulp)
            cases.append((s, -(Float(k) - 2 * x0) * s + nudge, k))
        }
        var flipped = 0, moved = 0
        for (s, b, k) in cases {
            let (t, f) = InferenceFolding.threshold(scale: s, shift: b, k: k)
            if f != 0 { flipped += 1 }
            if (t, f) != BinaryKernels.foldThreshold(scale: Double(s), bias: Double(b), k: k) { moved += 1 }
            for x in 0...k {
                let folded = f == 0 ? x > Int(t) : x < Int(t)
                let float = InferenceFolding.floatSignBit(x: x, k: k, scale: s, shift: b)
                if folded != float {
                    XCTFail("scale \(s) shift \(b) k \(k) x \(x): folded \(folded), float \(float)")
                    break
                }
            }
        }
        XCTAssertGreaterThan(flipped, 100, "negative scales must be exercised")
        // Rounding near zero does move some thresholds off the exact-arithmetic value.
        XCTAssertGreaterThan(moved, 0)
    }

    func testBatchNormAffineReproducesLayer() throws {
        let bn = BatchNorm(channels: 5, name: "bn")
        for j in 0..<5 {
            bn.gamma.value[j] = [1.5, -0.7, 0.01, -2, 0.3][j]
            bn.beta.value[j] = [0.1, -0.2, 0.3, 0, -1][j]
        }
        bn.setBuffer("bn.running_mean", Tensor(shape: [5], storage: [3, -1, 0.5, 7, -2]))
        bn.setBuffer("bn.running_var", Tensor(shape: [5], storage: [2, 0.3, 9, 1e-3, 40]))
        var rng = SeededGenerator(seed: 5)
        var x = Tensor(shape: [7, 5])
        for i in 0..<x.count { x[i] = Float(rng.nextInt(below: 41) - 20) }
        let y = bn.forward(x, training: false)
        let (s, b) = InferenceFolding.batchNormAffine(bn)
        for r in 0..<7 {
            for j in 0..<5 {
                let p = x[r * 5 + j] * s[j]
                XCTAssertEqual(p + b[j], y[r * 5 + j])
            }
        }
    }

    // MARK: Whole networks

    func testTinyMLPMatchesSequential() throws {
        let d = try ModelZoo.description(named: "tinymlp", inputShape: [28, 28, 1])
        let model = try preparedModel(d, seed: 1)
        let net = try InferenceNetwork(model)
        XCTAssertTrue(net.isFolded && net.isReentrant)
        // flatten, real stem, one folded binary dense, binary dense + BN to logits.
        XCTAssertEqual(steps(net).count, 4, net.plan.joined(separator: "\n"))
        var rng = SeededGenerator(seed: 2)
        for n in [1, 5, 64] {
            let x = pixelImages(n, [28, 28, 1], &rng)
            // Dense stem: BLAS is called on chunks rather than the whole batch, so bit equality
            // depends on the BLAS build; the contract is argmax + tolerance (checked inside).
            assertMatchesReference(model, net, x)
        }
    }

    func testTinyCNNMatchesSequentialAndFoldsPooling() throws {
        let d = try ModelZoo.description(named: "tinycnn", inputShape: [28, 28, 1])
        let model = try preparedModel(d, seed: 3)
        let net = try InferenceNetwork(model)
        XCTAssertTrue(net.isFolded && net.isReentrant)
        let binary = steps(net).compactMap { $0 as? BinaryStep }
        XCTAssertEqual(binary.count, 5, net.plan.joined(separator: "\n"))
        XCTAssertEqual(binary.filter { $0.pool == 2 }.count, 2, "both max pools folded into bit steps")
        var rng = SeededGenerator(seed: 4)
        var predicted = Set<Int32>()
        for n in [1, 3, 20] {
            let x = pixelImages(n, [28, 28, 1], &rng)
            XCTAssertEqual(assertMatchesReference(model, net, x), 0, "logits should be bit-identical")
            predicted.formUnion(net.classify(x))
        }
        XCTAssertGreaterThan(predicted.count, 1, "degenerate network: every image gets one class")
    }

    func testPredictionsDoNotDependOnThreadsOrChunking() throws {
        let d = try ModelZoo.description(named: "tinycnn", inputShape: [28, 28, 1])
        let model = try preparedModel(d, seed: 6, trainSteps: 1)
        let net = try InferenceNetwork(model)
        var rng = SeededGenerator(seed: 7)
        let x = pixelImages(13, [28, 28, 1], &rng)
        let base = net.predict(x, threads: 1)
        net.targetChunkRows = 1  // one image per chunk
        XCTAssertEqual(net.predict(x, threads: 2), base)
        XCTAssertEqual(net.predict(x, threads: 3), base)
        // Image by image.
        for i in 0..<13 {
            let one = Tensor(shape: [1, 28, 28, 1], storage: Array(x.storage[(i * 784)..<((i + 1) * 784)]))
            XCTAssertEqual(net.predict(one, threads: 2).storage, Array(base.storage[(i * 10)..<((i + 1) * 10)]))
        }
    }

    func testRealBMLPShapes() throws {
        let d = try ModelZoo.description(named: "bmlp")
        let model = try preparedModel(d, seed: 8, trainSteps: 1, batch: 8, statPasses: 3)
        let net = try InferenceNetwork(model)
        var rng = SeededGenerator(seed: 9)
        let x = pixelImages(40, [28, 28, 1], &rng)
        assertMatchesReference(model, net, x)
    }

    func testRealBCNNShapes() throws {
        let d = try ModelZoo.description(named: "bcnn")
        let model = try preparedModel(d, seed: 10, trainSteps: 1, batch: 4, statPasses: 3)
        let net = try InferenceNetwork(model)
        XCTAssertEqual(net.plan.count, 6, net.plan.joined(separator: "\n"))
        var rng = SeededGenerator(seed: 11)
        let x = pixelImages(16, [28, 28, 1], &rng)
        // 28x28 conv stems make the same per-image BLAS calls as the training layer.
        XCTAssertEqual(assertMatchesReference(model, net, x), 0, "logits should be bit-identical")
    }

    func testFloatTwinsRunUnfoldedAndMatch() throws {
        for (name, layers) in [("mini-fmlp", [LayerSpec.flatten, .dense(units: 32, binaryWeights: false), .batchNorm, .relu,
                                              .dense(units: 10, binaryWeights: false), .batchNorm]),
                               ("mini-fcnn", [LayerSpec.conv(filters: 4, kernel: 3, stride: 1, same: true, binaryWeights: false),
                                              .maxPool(size: 2), .batchNorm, .relu, .flatten,
                                              .dense(units: 10, binaryWeights: false), .batchNorm])] {
            let d = ModelDescription(name: name, inputShape: [8, 8, 1], classes: 10, layers: layers)
            let model = try preparedModel(d, seed: 12)
            let net = try InferenceNetwork(model)
            XCTAssertFalse(net.isFolded, name)
            XCTAssertTrue(net.isReentrant, name)  // real layers compile to BLAS steps without layer state
            var rng = SeededGenerator(seed: 13)
            let x = pixelImages(9, [8, 8, 1], &rng)
            XCTAssertEqual(assertMatchesReference(model, net, x), 0, name)  // the layers' own forward passes
            XCTAssertEqual(Parallelism.threads, 1, "predict restores the global thread count")
        }
    }

    /// Binary layers followed by layers that have no folded form fall back to floats.
    func testMixedModelFallsBack() throws {
        let layers: [LayerSpec] = [
            .conv(filters: 8, kernel: 3, stride: 1, same: true, binaryWeights: true), .batchNorm, .sign,
            .conv(filters: 16, kernel: 3, stride: 2, same: false, binaryWeights: true), .batchNorm, .prelu, .sign,
            .conv(filters: 70, kernel: 3, stride: 1, same: true, binaryWeights: true), .maxPool(size: 2), .batchNorm,
            .flatten, .sign,
            .dense(units: 65, binaryWeights: true), .batchNorm, .hardTanh,
            .dense(units: 10, binaryWeights: true), .batchNorm,
        ]
        let d = ModelDescription(name: "mixed", inputShape: [9, 9, 2], classes: 10, layers: layers)
        let model = try preparedModel(d, seed: 14)
        let net = try InferenceNetwork(model)
        XCTAssertTrue(net.isFolded)
        var rng = SeededGenerator(seed: 15)
        let x = pixelImages(7, [9, 9, 2], &rng)
        assertMatchesReference(model, net, x)
    }
}

final class PoolFoldingTests: XCTestCase {
    override func setUp() { Parallelism.threads = 1 }

    /// The folded conv + max pool + BN + sign step, run on its own, against the training
    /// layers on ±1 floats; half the pooled channels have negative gamma (pool = OR of bits),
    /// half positive (pool = AND). Also checks that ignoring the flip (AND everywhere) is
    /// wrong, i.e. that this test can fail.
    func testPooledStepMatchesLayersForBothSigns() throws {
        let layers: [LayerSpec] = [
            .conv(filters: 8, kernel: 3, stride: 1, same: true, binaryWeights: true), .batchNorm, .sign,
            .conv(filters: 16, kernel: 3, stride: 1, same: true, binaryWeights: true), .maxPool(size: 2), .batchNorm, .sign,
            .flatten, .dense(units: 10, binaryWeights: true), .batchNorm,
        ]
        let d = ModelDescription(name: "pool", inputShape: [10, 10, 1], classes: 10, layers: layers)
        let model = try preparedModel(d, seed: 21)
        let bn = model.layers[5] as! BatchNorm
        for j in 0..<16 { bn.gamma.value[j] = (j < 8 ? -1 : 1) * abs(bn.gamma.value[j]) }
        let net = try InferenceNetwork(model)
        let pooled = steps(net).compactMap { $0 as? BinaryStep }.first { $0.pool == 2 }!
        guard case let .bits(_, flips, andMask) = pooled.mode else { return XCTFail("pooled step must emit bits") }
        XCTAssertEqual(flips, [UInt8](repeating: 1, count: 8) + [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(andMask, [0xFF00])

        // Random ±1 input to the binary conv, through the training layers.
        var rng = SeededGenerator(seed: 22)
        let n = 6
        var signs = Tensor(shape: [n, 10, 10, 8])
        for i in 0..<signs.count { signs[i] = rng.nextFloat() < 0.5 ? -1 : 1 }
        var h = signs
        for l in model.layers[3...6] { h = l.forward(h, training: false) }  // conv, pool, bn, sign
        XCTAssertEqual(h.shape, [n, 5, 5, 16])
        var expected = [UInt64](repeating: 0, count: n * 25)
        h.withPointer { BinaryKernels.pack($0, rows: n * 25, cols: 16, srcStride: 16, into: &expected, dstStride: 1) }

        var packedIn = [UInt64](repeating: 0, count: n * 100)
        signs.withPointer { BinaryKernels.pack($0, rows: n * 100, cols: 8, srcStride: 8, into: &packedIn, dstStride: 1) }
        func run(_ step: BinaryStep) -> [UInt64] {
            var out = [UInt64](repeating: 0, count: n * 25)
            packedIn.withUnsafeBytes { x in
                out.withUnsafeMutableBytes { y in
                    step.run(x.baseAddress!, images: n, into: y.baseAddress!, workspace: Workspace(), threads: 1)
                }
            }
            return out
        }
        let folded = run(pooled)
        XCTAssertEqual(folded, expected)
        // Both pooled rules are exercised: some outputs are 1 and some 0 in each half.
        let lowHalf = folded.map { $0 & 0xFF }, highHalf = folded.map { $0 >> 8 }
        XCTAssertTrue(lowHalf.contains { $0 != 0 } && lowHalf.contains { $0 != 0xFF })
        XCTAssertTrue(highHalf.contains { $0 != 0 } && highHalf.contains { $0 != 0xFF })

        guard case let .bits(t, f, _) = pooled.mode else { return }
        let naive = BinaryStep(kind: pooled.kind, weights: pooled.weights, outChannels: 16, k: pooled.k, pool: 2,
                               mode: .bits(thresholds: t, flips: f, andMask: [~0]), input: pooled.input, output: pooled.output)
        XCTAssertNotEqual(run(naive), expected, "AND-pooling negative-scale channels should be wrong")

        // And the whole network agrees with Sequential.
        let x = pixelImages(9, [10, 10, 1], &rng)
        assertMatchesReference(model, net, x)
    }
}
