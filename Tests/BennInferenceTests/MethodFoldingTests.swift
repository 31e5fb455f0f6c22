import XCTest
import BennNN
import BennRandom
import BennTensor
@testable import BennInference

/// For every method, the folded packed network gives the predictions (and, up to BLAS
/// rounding in real layers, the logits) of the training network in evaluation mode.
final class MethodFoldingTests: XCTestCase {
    override func setUp() { Parallelism.threads = 1 }

    /// `preparedModel` plus non-trivial learnable shifts: RSign biases, SD-BNN gates and
    /// static shifts, RPReLU parameters (all start at 0 or constants).
    func prepared(_ model: String, _ method: MethodSpec, seed: UInt64) throws -> Sequential {
        let description = try ModelZoo.description(named: model, method: method)
        let m = try preparedModel(description, seed: seed)
        var rng = SeededGenerator(seed: seed &+ 77)
        for layer in m.allLayers {
            if let s = layer as? SignActivation, let b = s.bias {
                for j in 0..<b.value.count { b.value[j] = rng.uniform(-0.6, 0.6) }
            }
            if let r = layer as? RPReLU {
                for j in 0..<r.slope.value.count {
                    r.shiftIn.value[j] = rng.uniform(-0.3, 0.3)
                    r.slope.value[j] = rng.uniform(-0.5, 0.5)
                    r.shiftOut.value[j] = rng.uniform(-0.3, 0.3)
                }
            }
            if let p = layer as? PReLU {
                for j in 0..<p.slope.value.count { p.slope.value[j] = rng.uniform(-0.5, 0.5) }
            }
            for p in layer.parameters where p.name.hasSuffix("wsd_gate") {
                for j in 0..<p.value.count { p.value[j] = rng.uniform(-3, 3) }
            }
        }
        return m
    }

    func check(_ model: String, _ method: MethodSpec, seed: UInt64 = 3,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let m = try prepared(model, method, seed: seed)
        let net = try InferenceNetwork(m)
        XCTAssertTrue(net.isFolded, "\(model)/\(method.name): binary layers must run packed", file: file, line: line)
        var rng = SeededGenerator(seed: seed &+ 5)
        let x = pixelImages(24, m.description.inputShape, &rng)
        assertMatchesReference(m, net, x, tolerance: 1e-4, file: file, line: line)
    }

    func methods() -> [MethodSpec] {
        var staticSD = MethodSpec(.sdbnn)
        staticSD.activationShift = .static
        var xnorST = MethodSpec(.xnor)
        xnorST.gradient = .straightThrough
        var xnorScaled = MethodSpec(.xnor)
        xnorScaled.activationScaling = true
        var xnorOrder = MethodSpec(.xnor)
        xnorOrder.blockOrder = .xnor
        var xnorOrderScaled = xnorOrder
        xnorOrderScaled.activationScaling = true
        // Every block activation on every model (the default differs between plain models and ResNets).
        let sdBlockActivations = MethodSpec.BlockActivation.allCases.map { kind in
            var m = MethodSpec(.sdbnn)
            m.blockActivation = kind
            return m
        }
        return MethodSpec.Name.allCases.map { MethodSpec($0) } + [staticSD, xnorST, xnorScaled, xnorOrder, xnorOrderScaled] + sdBlockActivations
    }

    func testEveryMethodFoldsOnTinyCNN() throws {
        for m in methods() { try check("tinycnn", m) }
    }

    func testEveryMethodFoldsOnTinyMLP() throws {
        for m in methods() { try check("tinymlp", m) }
    }

    /// With real first-layer weights and a real classifier the binary layers between still
    /// run packed, and the real ends run in Float.
    func testEveryMethodFoldsWithRealFirstAndLastLayers() throws {
        for model in ["tinycnn", "tinymlp"] {
            for var m in methods() {
                m.realFirstLast = true
                try check(model, m)
            }
        }
    }

    /// Both shortcut placements: around every binary convolution, and around each pair
    /// (a residual whose body holds two binary blocks).
    func testEveryMethodFoldsOnTinyResNet() throws {
        for placement in MethodSpec.ShortcutPlacement.allCases {
            for var m in methods() {
                m.resnetShortcut = placement
                try check("tinyres", m)
            }
        }
    }

    /// Average-pooled downsampling shortcuts run in Float beside the packed body: on
    /// `tinyres` (28x28 to 14x14) and on `breal18`, whose 7x7 stage pools to 4x4.
    func testEveryMethodFoldsWithAveragePooledDownsampling() throws {
        for placement in MethodSpec.ShortcutPlacement.allCases {
            for var m in methods() {
                m.resnetShortcut = placement
                m.resnetDownsample = .averagePool
                try check("tinyres", m)
            }
        }
        for name in MethodSpec.Name.allCases {
            var m = MethodSpec(name)
            m.resnetDownsample = .averagePool
            try check("breal18", m)
        }
    }

    /// XNOR/Bi-Real/ReActNet scales and RSign shifts land in the integer thresholds: the
    /// bnn/xnor CNN chain stays packed from the second layer to the classifier.
    func testScalesAndShiftsFoldIntoThresholds() throws {
        for name in [MethodSpec.Name.xnor, .bnn] {
            let m = try prepared("tinycnn", MethodSpec(name), seed: 9)
            let net = try InferenceNetwork(m)
            let thresholdSteps = steps(net).compactMap { $0 as? BinaryStep }.filter {
                if case .bits = $0.mode { return true }
                return false
            }
            XCTAssertEqual(thresholdSteps.count, 4, "\(name): \(net.plan)")
        }
    }

    /// The SD-BNN shift depends on the image: it is computed per sample before packing.
    func testSelfDistributionShiftIsPerSample() throws {
        let m = try prepared("tinycnn", MethodSpec(.sdbnn), seed: 4)
        let net = try InferenceNetwork(m)
        XCTAssertTrue(steps(net).contains { ($0 as? ShiftedPackStep)?.excitation != nil }, "\(net.plan)")
    }

    func testBreal18Compiles() throws {
        for name in MethodSpec.Name.allCases {
            let m = try Sequential(try ModelZoo.description(named: "breal18", method: MethodSpec(name)), seed: 1)
            let net = try InferenceNetwork(m)
            XCTAssertTrue(net.isFolded)
            XCTAssertEqual(m.shapes.last, [10])
        }
    }
}
