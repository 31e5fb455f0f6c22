import Foundation
import XCTest
import BennNN
@testable import BennTrain

/// The schema declares every field once; the parser, key lists, ranges and report names
/// come from it, so it must match the structs field for field.
final class SpecSchemaTests: XCTestCase {
    /// A spec with every optional set and most fields away from their defaults.
    var everythingSet: TrainingSpec {
        var s = TrainingSpec()
        s.model = "bcnn"; s.threads = 3; s.seed = 9
        s.method = MethodSpec(.sdbnn)
        s.method.gradient = .full; s.method.meanCenter = true; s.method.blockOrder = .xnor; s.method.weightSurrogate = .ste
        s.method.edeMinimumTemperature = 0.5; s.method.blockActivation = .hardtanh; s.method.teacher = "t.ckpt"
        s.method.teacherEpochs = 2; s.method.twoStep = true; s.method.firstStepEpochs = 1; s.method.restartSchedule = true
        s.method.repeatFirstStep = false; s.method.pretrainEpochs = 3; s.method.realFirstLast = true
        s.method.resnetShortcut = .perConv; s.method.resnetDownsample = .averagePool; s.method.initFrom = "f.ckpt"
        s.data.validation = 10; s.data.limit = 100; s.data.flip = true; s.train.optimizer = .sgd; s.train.momentum = 0.8
        s.ensemble.strategy = .boosting; s.ensemble.members = 4; s.ensemble.aggregation = .hard
        return s
    }

    /// Every stored property is a schema field under the key reflection spells, with the
    /// value reflection reads: a property added to a struct but not to the schema fails here.
    func testSchemaDeclaresEveryStoredProperty() {
        for spec in [TrainingSpec(), everythingSet] {
            let reflected = TrainingSpec.reflectedFields(of: spec)
            XCTAssertEqual(Set(reflected.map(\.key)), Set(TrainingSpec.schema.map(\.key)))
            XCTAssertEqual(reflected.count, TrainingSpec.schema.count)
            let declared = spec.fieldsBySpecKey
            for (key, value) in reflected { XCTAssertEqual(declared[key], value, key) }
        }
    }

    func testKeyListsAreTheSpecFileOrder() {
        XCTAssertEqual(TrainingSpec.topLevelKeys, ["model", "method", "method_options", "seed", "threads", "data", "train", "ensemble"])
        XCTAssertEqual(TrainingSpec.keys(in: "data"), ["directory", "format", "labels", "validation", "crop_padding", "flip", "limit", "test_limit"])
        XCTAssertEqual(TrainingSpec.keys(in: "train"), ["epochs", "batch_size", "optimizer", "learning_rate", "momentum", "nesterov",
                                                        "weight_decay", "schedule", "step_epochs", "step_factor",
                                                        "minimum_learning_rate", "label_smoothing"])
        XCTAssertEqual(TrainingSpec.keys(in: "ensemble"), ["strategy", "members", "aggregation", "boosting_rule", "sampling", "start"])
        let everyMethod = ["real_first_last", "resnet_shortcut", "resnet_downsample", "init_from"]
        XCTAssertEqual(MethodSpec.optionKeys(for: .bnn), everyMethod)
        XCTAssertEqual(MethodSpec.optionKeys(for: .xnor), ["gradient", "activation_scaling", "mean_center", "block_order"] + everyMethod)
        XCTAssertEqual(MethodSpec.optionKeys(for: .bireal), ["gradient", "pretrain_epochs"] + everyMethod)
        XCTAssertEqual(MethodSpec.optionKeys(for: .reactnet), ["teacher", "teacher_epochs", "two_step", "first_step_epochs",
                                                              "restart_schedule", "repeat_first_step"] + everyMethod)
        XCTAssertEqual(MethodSpec.optionKeys(for: .sdbnn), ["activation_shift", "se_reduction", "surrogate", "weight_surrogate",
                                                           "ede_min_temperature", "ede_max_temperature", "teacher", "teacher_epochs",
                                                           "two_step", "first_step_epochs", "block_activation"] + everyMethod)
    }

    /// Every number has a range; the parser reports a value outside it at its line and column.
    func testEveryNumberHasARangeCheckedWhereItIsWritten() throws {
        for field in TrainingSpec.schema {
            switch field.kind {
            case .whole, .real: XCTAssertNotNil(field.range, field.key)
            case .unsigned: XCTAssertEqual(field.key, "seed")
            case .flag, .text, .choice: break
            }
        }
        func error(_ text: String, _ format: SpecParser.Format = .yaml) -> String {
            do { _ = try SpecParser.parse(text, source: "s", format: format); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(error("train:\n  batch_size: 1099511627776\n"), "s:2:15: train.batch_size must be between 1 and 65536, got 1099511627776")
        XCTAssertEqual(error("train:\n  learning_rate: 100\n"), "s:2:18: train.learning_rate must be in (0, 10], got 100")
        XCTAssertEqual(error("[data]\ncrop_padding = 65\n", .toml), "s:2:16: data.crop_padding must be between 0 and 64, got 65")
        XCTAssertEqual(error("method: sdbnn\nmethod_options:\n  ede_max_temperature: 1e9\n"),
                       "s:3:24: method_options.ede_max_temperature must be in (0, 1000], got 1e+09")
        XCTAssertEqual(error("threads: 0\n"), "s:1:10: threads must be at least 1, got 0")
        XCTAssertEqual(try SpecParser.parse("seed: 18446744073709551615\n").seed, .max)
    }

    /// Reading a spec through the schema gives the struct the spec describes, field for field.
    func testParsedFieldsRoundTrip() throws {
        var spec = everythingSet
        spec.method = MethodSpec(.reactnet)
        spec.method.teacher = "t.ckpt"; spec.method.teacherEpochs = 2; spec.method.restartSchedule = true; spec.method.realFirstLast = true
        var text = "method: reactnet\nmethod_options:\n"
        for (key, value) in spec.fieldsBySpecKey.sorted(by: { $0.key < $1.key }) where key.hasPrefix("method_options.") {
            if MethodSpec.optionKeys(for: .reactnet).contains(String(key.dropFirst("method_options.".count))) {
                text += "  \(key.dropFirst("method_options.".count)): \(value)\n"
            }
        }
        for section in ["data", "train", "ensemble"] {
            text += "\(section):\n"
            for key in TrainingSpec.keys(in: section) { text += "  \(key): \(spec.fieldsBySpecKey["\(section).\(key)"]!)\n" }
        }
        text += "model: bcnn\nseed: 9\nthreads: 3\n"
        let parsed = try SpecParser.parse(text)
        XCTAssertEqual(parsed.differences(in: spec, calling: "parsed"), [])
        XCTAssertEqual(parsed, spec)
    }
}

/// `--set key=value`: any schema key, read and checked as a spec file's value is.
final class SpecOverrideTests: XCTestCase {
    func error(_ assignments: [String], to spec: TrainingSpec = TrainingSpec()) -> String {
        do { _ = try SpecParser.apply(assignments, to: spec); return "" } catch { return "\(error)" }
    }

    func testAssignmentsSetFieldsOfEveryKind() throws {
        let s = try SpecParser.apply(["train.batch_size=64", "method_options.teacher=t.ckpt", "method=reactnet", "seed=7",
                                      "data.flip=yes", "train.learning_rate=5e-3", "ensemble.strategy=bagging", "threads=2",
                                      "data.directory=/d=1"], to: TrainingSpec())
        XCTAssertEqual(s.train.batchSize, 64)
        XCTAssertEqual(s.method.name, .reactnet)
        XCTAssertEqual(s.method.teacher, "t.ckpt", "the method is set first, so it does not reset the option")
        XCTAssertEqual(s.seed, 7)
        XCTAssertTrue(s.data.flip)
        XCTAssertEqual(s.train.learningRate, 5e-3)
        XCTAssertEqual(s.ensemble.strategy, .bagging)
        XCTAssertEqual(s.threads, 2)
        XCTAssertEqual(s.data.directory, "/d=1")
        XCTAssertNoThrow(try s.validate())
        XCTAssertEqual(try SpecParser.apply([], to: s), s)
    }

    func testBadAssignmentsNameTheAssignmentAndTheProblem() {
        XCTAssertEqual(error(["train.batch_sise=3"]),
                       "--set train.batch_sise=3: unknown key 'train.batch_sise' (did you mean 'train.batch_size'?); `benn check --schema` lists the keys")
        XCTAssertEqual(error(["epochs"]), "--set epochs: expected key=value, e.g. train.batch_size=64")
        XCTAssertEqual(error(["train.batch_size=0"]), "--set train.batch_size=0: train.batch_size must be at least 1, got 0")
        XCTAssertEqual(error(["train.batch_size=1099511627776"]),
                       "--set train.batch_size=1099511627776: train.batch_size must be between 1 and 65536, got 1099511627776")
        XCTAssertEqual(error(["train.momentum=nan"]), "--set train.momentum=nan: train.momentum must be a number, got 'nan'")
        XCTAssertEqual(error(["train.optimizer=adamw"]),
                       "--set train.optimizer=adamw: train.optimizer: unknown value 'adamw' (did you mean 'adam'?); valid: adam, sgd")
        XCTAssertEqual(error(["method_options.teacher=t.ckpt"]),
                       "--set method_options.teacher=t.ckpt: method bnn does not take teacher; its options: real_first_last, resnet_shortcut, resnet_downsample, init_from")
    }

    /// The README's spec reference is `benn check --schema`'s output, kept up to date.
    func testReadmeHasTheSchemaTable() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        XCTAssertTrue(text.contains(TrainingSpec.schemaTable), "paste `benn check --schema` into README.md")
    }

    func testSchemaTableHasARowPerField() {
        let rows = TrainingSpec.schemaTable.split(separator: "\n")
        XCTAssertEqual(rows.count, TrainingSpec.schema.count + 2)
        XCTAssertTrue(rows.contains("| `train.batch_size` | integer | 1...65536 | `128` |  | Samples per batch. |"), rows.joined(separator: "\n"))
        XCTAssertTrue(rows.contains { $0.hasPrefix("| `method_options.teacher` | text |  | unset | reactnet, sdbnn |") })
        XCTAssertTrue(rows.contains { $0.hasPrefix("| `train.momentum` | number | [0, 1) | `0.9` |") })
    }
}
