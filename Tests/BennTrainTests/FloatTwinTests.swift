import XCTest
import BennNN
import BennRandom
import BennTensor
@testable import BennTrain

/// Starting a binary model from its float twin's checkpoint (`method_options.init_from`).
final class FloatTwinTests: XCTestCase {
    override func setUp() { Parallelism.threads = 2 }

    /// A float-twin checkpoint whose weights and batch norms differ from any student's, with
    /// one weight of a binary layer outside the latent clip range.
    private func twinCheckpoint(_ model: String) throws -> (path: String, twin: Sequential) {
        var spec = TrainingSpec()
        spec.model = model
        spec.seed = 11
        let trainer = try Trainer(spec: spec)
        var rng = SeededGenerator(seed: 5)
        // Weights already differ from the student's (another seed); batch norms start equal.
        for p in trainer.model.parameters where p.name.contains(".bn.") {
            p.value = Tensor(shape: p.value.shape, storage: (0..<p.value.count).map { _ in Float.random(in: -0.5...0.5, using: &rng) })
        }
        var tensors = Dictionary(uniqueKeysWithValues: trainer.model.namedTensors.map { ($0.name, $0.tensor) })
        for (name, t) in tensors where name.hasSuffix(".running_mean") || name.hasSuffix(".running_var") {
            tensors[name] = Tensor(shape: t.shape, storage: (0..<t.count).map { _ in Float.random(in: 0.5...1.5, using: &rng) })
        }
        try trainer.model.load(tensors)
        if let secondConvolution = trainer.model.parameters.filter({ $0.name.hasSuffix("conv.weight") }).dropFirst().first {
            secondConvolution.value.withMutablePointer { $0[0] = 1.75 }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("twin-\(UUID().uuidString).ckpt").path
        try trainer.checkpoint().write(to: path)
        return (path, trainer.model)
    }

    private func spec(_ model: String, _ method: MethodSpec.Name, initFrom: String?) -> TrainingSpec {
        var s = TrainingSpec()
        s.model = model
        s.method = MethodSpec(method)
        s.method.initFrom = initFrom
        return s
    }

    /// The twin's tensors of one kind of layer (`shortcuts`: the residual projections), in order.
    private func shared(_ model: Sequential, shortcuts: Bool) -> [(name: String, tensor: Tensor)] {
        model.namedTensors.filter { FloatTwin.isShared($0.name) && FloatTwin.isShortcut($0.name) == shortcuts }
    }

    /// Checks that `model` holds the twin's trunk (and, where the twin has them, shortcut)
    /// tensors in order, latent binary weights clipped, and everything else as `fresh`.
    private func assertStarts(_ model: Sequential, from twin: Sequential, else fresh: Sequential,
                              _ label: String) {
        var copied = Set<String>()
        let clipped = Set(model.parameters.filter { $0.clipRange != nil }.map(\.name))
        for shortcuts in [false, true] {
            let source = shared(twin, shortcuts: shortcuts), target = shared(model, shortcuts: shortcuts)
            if shortcuts && source.isEmpty { continue }
            XCTAssertEqual(source.count, target.count, label)
            for (s, t) in zip(source, target) {
                let expected = clipped.contains(t.name) ? s.tensor.storage.map { min(1, max(-1, $0)) } : s.tensor.storage
                XCTAssertEqual(t.tensor.storage, expected, "\(label): \(t.name) from \(s.name)")
                copied.insert(t.name)
            }
        }
        XCTAssertGreaterThan(copied.count, 10, label)
        let own = Dictionary(uniqueKeysWithValues: fresh.namedTensors.map { ($0.name, $0.tensor.storage) })
        for t in model.namedTensors where !copied.contains(t.name) {
            XCTAssertEqual(t.tensor.storage, own[t.name], "\(label): \(t.name) keeps its initial value")
        }
    }

    func testEveryConvolutionDenseAndBatchNormComesFromTheTwinInOrder() throws {
        let (path, twin) = try twinCheckpoint("fcnn")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for method in [MethodSpec.Name.bnn, .bireal, .reactnet] {
            let model = try Trainer(spec: spec("bcnn", method, initFrom: path)).model
            let fresh = try Trainer(spec: spec("bcnn", method, initFrom: nil)).model
            assertStarts(model, from: twin, else: fresh, "bcnn \(method)")
            // The binary layer's latent weight that was 1.75 in the twin is clipped to 1.
            XCTAssertTrue(shared(model, shortcuts: false).contains { $0.name.hasSuffix("conv.weight") && $0.tensor.storage.contains(1) })
            // Bi-Real's and ReActNet's shortcuts on a plain model have no counterpart in fcnn.
            if method != .bnn { XCTAssertFalse(shared(model, shortcuts: true).isEmpty) }
        }
    }

    /// freal18's projections sit around one convolution, the standard block's around two;
    /// paired in order, each stage's projection still comes from the twin's, also where an
    /// average pool in front of it takes the stride (`resnet_downsample: avg_pool`).
    func testAResNetTakesTheTwinsShortcutsUnderEitherPlacement() throws {
        let (path, twin) = try twinCheckpoint("freal18")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for method in [MethodSpec.Name.bnn, .bireal] {
            for downsampling in MethodSpec.Downsampling.allCases {
                var withTwin = spec("breal18", method, initFrom: path), alone = spec("breal18", method, initFrom: nil)
                withTwin.method.resnetDownsample = downsampling
                alone.method.resnetDownsample = downsampling
                let model = try Trainer(spec: withTwin).model
                let fresh = try Trainer(spec: alone).model
                XCTAssertEqual(shared(model, shortcuts: true).count, 3 * 5,
                               "three projections, each a 1x1 convolution and a batch norm (5 tensors)")
                assertStarts(model, from: twin, else: fresh, "breal18 \(method) \(downsampling)")
            }
        }
    }

    /// XNOR-Net's block order has one batch norm more than the twin: refused, naming the twin's file.
    func testALayoutThatDoesNotCorrespondIsRefused() throws {
        let (path, _) = try twinCheckpoint("fcnn")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var xnorOrder = spec("bcnn", .xnor, initFrom: path)
        xnorOrder.method.blockOrder = .xnor
        XCTAssertThrowsError(try Trainer(spec: xnorOrder)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("does not correspond") && text.contains(path), text)
        }
    }

    func testACheckpointOfAnotherModelIsRefusedNamingTheTwin() throws {
        let (path, _) = try twinCheckpoint("fmlp")
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try Trainer(spec: spec("bcnn", .bireal, initFrom: path))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("init_from") && text.contains("'fmlp'") && text.contains("'fcnn'"), text)
        }
        XCTAssertThrowsError(try Trainer(spec: spec("bcnn", .bireal, initFrom: "/nonexistent/twin.ckpt"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/twin.ckpt"), "\(error)")
        }
    }

    /// A checkpoint named like the twin whose layers differ (another build's or options'
    /// fcnn) is refused naming the layer, not only the model names, which agree.
    func testATwinOfTheSameNameWithOtherLayersIsRefusedNamingTheLayer() throws {
        let (path, _) = try twinCheckpoint("fcnn")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var checkpoint = try Checkpoint.read(from: path)
        let last = checkpoint.model.layers.count - 1
        checkpoint.model.layers[last] = .relu
        try checkpoint.write(to: path)
        XCTAssertThrowsError(try Trainer(spec: spec("bcnn", .bireal, initFrom: path))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + ": method_options.init_from checkpoint holds a 'fcnn' other than the float twin of 'bcnn'"), text)
            XCTAssertTrue(text.contains("layer l\(last) is relu in the checkpoint"), text)
        }
    }

    func testEveryMethodAcceptsTheOption() throws {
        for method in MethodSpec.Name.allCases {
            let s = try SpecParser.parse("model: bcnn\nmethod: \(method.rawValue)\nmethod_options:\n  init_from: twin.ckpt\n")
            XCTAssertEqual(s.method.initFrom, "twin.ckpt")
        }
    }
}
