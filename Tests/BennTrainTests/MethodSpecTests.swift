import XCTest
import BennNN
import BennTrain

final class MethodSpecTests: XCTestCase {
    private func error(_ yaml: String) -> String {
        do { _ = try SpecParser.parse(yaml, source: "s.yaml"); return "accepted" } catch { return "\(error)" }
    }

    func testMethodAndOptionsParse() throws {
        let spec = try SpecParser.parse("""
        model: bcnn
        method_options:
          activation_shift: static
          se_reduction: 8
          surrogate: ede
        method: sdbnn
        """)
        XCTAssertEqual(spec.method.name, .sdbnn)
        XCTAssertEqual(spec.method.activationShift, .static, "\(spec.method)")
        XCTAssertEqual(spec.method.seReduction, 8)
        XCTAssertEqual(spec.method.surrogate, .ede)
        // Without the option SD-BNN trains with ApproxSign, weights and activations alike.
        let plain = try SpecParser.parse("model: bcnn\nmethod: sdbnn\n").method
        XCTAssertEqual(plain.surrogate, .approxSign)
        XCTAssertEqual(plain.weightQuantizer.surrogate, .approxSign)
        XCTAssertEqual(plain.activationQuantizer(spatial: true).surrogate, .approxSign)
        // The ImageNet code's pairing: ApproxSign activations, straight-through weights.
        let split = try SpecParser.parse("model: bcnn\nmethod: sdbnn\nmethod_options:\n  weight_surrogate: ste\n").method
        XCTAssertEqual(split.weightQuantizer.surrogate, .ste)
        XCTAssertEqual(split.activationQuantizer(spatial: true).surrogate, .approxSign)
        XCTAssertTrue(error("model: bcnn\nmethod: sdbnn\nmethod_options:\n  weight_surrogate: clip\n").contains("valid: ede, approx_sign, ste"))
        let r = try SpecParser.parse("model: bcnn\nmethod: reactnet\nmethod_options:\n  teacher: t.ckpt\n  two_step: false\n")
        XCTAssertEqual(r.method.teacher, "t.ckpt")
        XCTAssertEqual(r.method.twoStep, false)
        XCTAssertNil(r.method.restartSchedule)
        XCTAssertEqual(try SpecParser.parse("model: bcnn\nmethod: reactnet\nmethod_options:\n  restart_schedule: true\n").method.restartSchedule, true)
        XCTAssertNil(r.method.repeatFirstStep)
        XCTAssertEqual(try SpecParser.parse("model: bcnn\nmethod: reactnet\nmethod_options:\n  repeat_first_step: false\n").method.repeatFirstStep, false)
        XCTAssertEqual(try SpecParser.parse("model: bcnn").method.name, .bnn)
    }

    func testUnknownMethodListsValidOnes() {
        let e = error("model: bcnn\nmethod: xnorr\n")
        XCTAssertTrue(e.contains("s.yaml:2:9"), e)
        XCTAssertTrue(e.contains("unknown value 'xnorr'"), e)
        XCTAssertTrue(e.contains("did you mean 'xnor'"), e)
        XCTAssertTrue(e.contains("valid: bnn, xnor, bireal, reactnet, sdbnn"), e)
    }

    func testUnknownOptionListsTheMethodsOptions() {
        let e = error("model: bcnn\nmethod: sdbnn\nmethod_options:\n  se_reducton: 4\n")
        XCTAssertTrue(e.contains("s.yaml:4:3"), e)
        XCTAssertTrue(e.contains("unknown key 'se_reducton' in method_options (method sdbnn)"), e)
        XCTAssertTrue(e.contains("did you mean 'se_reduction'"), e)
        XCTAssertTrue(e.contains("valid keys: activation_shift, se_reduction, surrogate"), e)
        // An option of another method is unknown for this one.
        XCTAssertTrue(error("model: bcnn\nmethod: xnor\nmethod_options:\n  teacher: train\n").contains("valid keys: gradient"))
        XCTAssertTrue(error("model: bcnn\nmethod_options:\n  gradient: full\n").contains("valid keys: real_first_last"))
        XCTAssertTrue(error("model: bcnn\nmethod: bireal\nmethod_options:\n  gradient: full\n").contains("magnitude_aware or straight_through"))
        XCTAssertTrue(error("model: bcnn\nmethod: sdbnn\nmethod_options:\n  activation_shift: dynamic\n").contains("valid: se, static"))
    }

    /// `real_first_last` is every method's option, a boolean, unset by default.
    func testRealFirstLastParsesForEveryMethod() throws {
        for name in MethodSpec.Name.allCases {
            let yaml = "model: bcnn\nmethod: \(name.rawValue)\nmethod_options:\n  real_first_last: true\n"
            XCTAssertEqual(try SpecParser.parse(yaml).method.realFirstLast, true, "\(name)")
            XCTAssertNil(try SpecParser.parse("model: bcnn\nmethod: \(name.rawValue)\n").method.realFirstLast, "\(name)")
        }
        let e = error("model: bcnn\nmethod: xnor\nmethod_options:\n  real_first_last: maybe\n")
        XCTAssertTrue(e.contains("s.yaml:4:20") && e.contains("method_options.real_first_last"), e)
    }

    /// `resnet_shortcut` is every method's option; unset, the method decides.
    func testResNetShortcutParsesForEveryMethod() throws {
        for name in MethodSpec.Name.allCases {
            let yaml = "model: breal18\nmethod: \(name.rawValue)\nmethod_options:\n  resnet_shortcut: per_block\n"
            XCTAssertEqual(try SpecParser.parse(yaml).method.resnetShortcutPlacement, .perBlock, "\(name)")
            XCTAssertNil(try SpecParser.parse("model: breal18\nmethod: \(name.rawValue)\n").method.resnetShortcut, "\(name)")
        }
        let e = error("model: breal18\nmethod_options:\n  resnet_shortcut: per_layer\n")
        XCTAssertTrue(e.contains("s.yaml:3:20") && e.contains("method_options.resnet_shortcut"), e)
        XCTAssertTrue(e.contains("valid: per_conv, per_block"), e)
    }

    /// `resnet_downsample` is every method's option; unset, `avg_pool` for bireal and
    /// `strided` for the others.
    func testResNetDownsampleParsesForEveryMethod() throws {
        for name in MethodSpec.Name.allCases {
            let yaml = "model: breal18\nmethod: \(name.rawValue)\nmethod_options:\n  resnet_downsample: avg_pool\n"
            XCTAssertEqual(try SpecParser.parse(yaml).method.resnetDownsampling, .averagePool, "\(name)")
            XCTAssertEqual(try SpecParser.parse("model: breal18\nmethod: \(name.rawValue)\n").method.resnetDownsampling,
                           name == .bireal ? .averagePool : .strided, "\(name)")
            let strided = yaml.replacingOccurrences(of: "avg_pool", with: "strided")
            XCTAssertEqual(try SpecParser.parse(strided).method.resnetDownsampling, .strided, "\(name)")
        }
        let e = error("model: breal18\nmethod_options:\n  resnet_downsample: max_pool\n")
        XCTAssertTrue(e.contains("s.yaml:3:22") && e.contains("method_options.resnet_downsample"), e)
        XCTAssertTrue(e.contains("valid: strided, avg_pool"), e)
    }

    func testXNORBlockOrderParses() throws {
        let yaml = "model: bcnn\nmethod: xnor\nmethod_options:\n  block_order: xnor\n"
        XCTAssertTrue(try SpecParser.parse(yaml).method.normalizesBeforeSign)
        XCTAssertFalse(try SpecParser.parse("model: bcnn\nmethod: xnor\n").method.normalizesBeforeSign)
        XCTAssertTrue(error("model: bcnn\nmethod: xnor\nmethod_options:\n  block_order: pre\n").contains("valid: bnn, xnor"))
        XCTAssertTrue(error("model: bcnn\nmethod: bireal\nmethod_options:\n  block_order: xnor\n").contains("unknown key 'block_order'"))
    }

    func testSDBNNBlockActivationParses() throws {
        for (value, after, inBranch) in [("none", nil, nil), ("hardtanh", LayerSpec.hardTanh, nil), ("prelu", nil, LayerSpec.prelu)] {
            let method = try SpecParser.parse("model: breal18\nmethod: sdbnn\nmethod_options:\n  block_activation: \(value)\n").method
            XCTAssertEqual(method.activationAfterBlock, after, value)
            XCTAssertEqual(method.activationInBranch, inBranch, value)
        }
        // Unset, the model decides: PReLU in every ResNet branch, nothing on plain models.
        let unset = try SpecParser.parse("model: breal18\nmethod: sdbnn\n").method
        XCTAssertNil(unset.blockActivation)
        func count(_ layers: [LayerSpec]) -> Int {
            layers.reduce(0) { n, layer in
                if case let .residual(body, shortcut) = layer { return n + count(body) + count(shortcut) }
                return n + (layer == .prelu ? 1 : 0)
            }
        }
        XCTAssertEqual(count(try ModelZoo.description(named: "breal18", method: unset).layers), 16)
        XCTAssertEqual(count(try ModelZoo.description(named: "bcnn", method: unset).layers), 0)
        XCTAssertTrue(error("model: bcnn\nmethod: sdbnn\nmethod_options:\n  block_activation: relu\n").contains("valid: none, hardtanh, prelu"))
        XCTAssertTrue(error("model: bcnn\nmethod: bnn\nmethod_options:\n  block_activation: prelu\n").contains("unknown key 'block_activation'"))
    }

    func testMethodNeedsABinaryModel() {
        let e = error("model: fcnn\nmethod: xnor\n")
        XCTAssertTrue(e.contains("'xnor' needs a binary model; 'fcnn' is a float twin"), e)
    }
}
