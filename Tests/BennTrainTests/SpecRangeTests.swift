import Foundation
import XCTest
import BennNN
@testable import BennTrain

/// Every number a spec carries has a range that `validate()` enforces, whatever the spec came
/// from: a value outside is an error naming the key as a spec file writes it.
final class SpecRangeTests: XCTestCase {
    func message(_ spec: TrainingSpec) -> String? {
        do { try spec.validate(); return nil } catch { return "\(error)" }
    }

    func changed(_ change: (inout TrainingSpec) -> Void) -> TrainingSpec {
        var s = TrainingSpec()
        s.ensemble.strategy = .bagging
        change(&s)
        return s
    }

    /// One value past each end of every range, and the message each gives.
    func testEveryOutOfRangeNumberIsNamedByItsKey() {
        let cases: [(String, (inout TrainingSpec) -> Void, String)] = [
            ("batch 2^40", { $0.train.batchSize = 1 << 40 }, "train.batch_size must be between 1 and 65536, got 1099511627776"),
            ("batch 0", { $0.train.batchSize = 0 }, "train.batch_size must be positive, got 0"),
            ("batch 65537", { $0.train.batchSize = 65_537 }, "train.batch_size must be between 1 and 65536, got 65537"),
            ("epochs 0", { $0.train.epochs = 0 }, "train.epochs must be at least 1, got 0"),
            ("epochs", { $0.train.epochs = 10_001 }, "train.epochs must be between 1 and 10000, got 10001"),
            ("members 0", { $0.ensemble.members = 0 }, "ensemble.members must be at least 1, got 0"),
            ("members", { $0.ensemble.members = 1_000_000_000 }, "ensemble.members must be between 1 and 1000, got 1000000000"),
            ("threads 0", { $0.threads = 0 }, "threads must be at least 1, got 0"),
            ("threads", { $0.threads = 1025 }, "threads must be between 1 and 1024, got 1025"),
            ("padding -1", { $0.data.cropPadding = -1 }, "data.crop_padding must not be negative, got -1"),
            ("padding", { $0.data.cropPadding = 65 }, "data.crop_padding must be between 0 and 64, got 65"),
            ("validation -1", { $0.data.validation = -1 }, "data.validation must not be negative, got -1"),
            ("validation", { $0.data.validation = 100_000_001 }, "data.validation must be between 0 and 100000000, got 100000001"),
            ("limit -1", { $0.data.limit = -1 }, "data.limit must not be negative, got -1"),
            ("limit", { $0.data.limit = Int.max }, "data.limit must be between 0 and 100000000, got \(Int.max)"),
            ("test limit -1", { $0.data.testLimit = -1 }, "data.test_limit must not be negative, got -1"),
            ("test limit", { $0.data.testLimit = 100_000_001 }, "data.test_limit must be between 0 and 100000000, got 100000001"),
            ("rate 0", { $0.train.learningRate = 0 }, "train.learning_rate must be positive, got 0"),
            ("rate nan", { $0.train.learningRate = .nan }, "train.learning_rate must be a finite number in (0, 10], got nan"),
            ("rate inf", { $0.train.learningRate = .infinity }, "train.learning_rate must be a finite number in (0, 10], got inf"),
            ("rate", { $0.train.learningRate = 11 }, "train.learning_rate must be in (0, 10], got 11"),
            ("momentum", { $0.train.momentum = 1 }, "train.momentum must be in [0, 1), got 1"),
            ("momentum -", { $0.train.momentum = -0.5 }, "train.momentum must be in [0, 1), got -0.5"),
            ("decay", { $0.train.weightDecay = 2 }, "train.weight_decay must be in [0, 1], got 2"),
            ("decay -", { $0.train.weightDecay = -1e-4 }, "train.weight_decay must not be negative, got -0.0001"),
            ("decay nan", { $0.train.weightDecay = .nan }, "train.weight_decay must be a finite number in [0, 1], got nan"),
            ("smoothing", { $0.train.labelSmoothing = 1 }, "train.label_smoothing must be in [0, 1), got 1"),
            ("step epochs", { $0.train.stepEpochs = 0 }, "train.step_epochs must be at least 1, got 0"),
            ("step epochs big", { $0.train.stepEpochs = 10_001 }, "train.step_epochs must be between 1 and 10000, got 10001"),
            ("step factor 0", { $0.train.stepFactor = 0 }, "train.step_factor must be in (0, 1], got 0"),
            ("step factor", { $0.train.stepFactor = 1.5 }, "train.step_factor must be in (0, 1], got 1.5"),
            ("floor -", { $0.train.minimumLearningRate = -1e-3 }, "train.minimum_learning_rate must not be negative, got -0.001"),
            ("floor nan", { $0.train.minimumLearningRate = .nan }, "train.minimum_learning_rate must be a finite number in [0, 10], got nan"),
            ("floor above rate", { $0.train.minimumLearningRate = 0.01 }, "train.minimum_learning_rate must be at most train.learning_rate (0.001), got 0.01"),
        ]
        for (name, change, expected) in cases {
            XCTAssertEqual(message(changed(change)), expected, name)
        }
    }

    /// Both ends of every range are valid values.
    func testRangeEndsAreAccepted() throws {
        let lowest = changed {
            $0.threads = 1; $0.train.epochs = 1; $0.train.batchSize = 1; $0.train.learningRate = .leastNonzeroMagnitude
            $0.train.momentum = 0; $0.train.weightDecay = 0; $0.train.stepEpochs = 1; $0.train.stepFactor = .leastNonzeroMagnitude
            $0.train.minimumLearningRate = 0; $0.train.labelSmoothing = 0; $0.data.validation = 0; $0.data.cropPadding = 0
            $0.data.limit = 0; $0.data.testLimit = 0; $0.ensemble.members = 1
        }
        let highest = changed {
            $0.threads = 1024; $0.train.epochs = 10_000; $0.train.batchSize = 65_536; $0.train.learningRate = 10
            $0.train.momentum = 0.99; $0.train.weightDecay = 1; $0.train.stepEpochs = 10_000; $0.train.stepFactor = 1
            $0.train.minimumLearningRate = 10; $0.train.labelSmoothing = 0.99; $0.data.validation = 100_000_000
            $0.data.cropPadding = 64; $0.data.limit = 100_000_000; $0.data.testLimit = 100_000_000; $0.ensemble.members = 1000
        }
        XCTAssertNil(message(lowest))
        XCTAssertNil(message(highest))
        var options = MethodSpec(.sdbnn)
        options.seReduction = 1024; options.edeMaximumTemperature = 1000; options.edeMinimumTemperature = 1000
        options.teacherEpochs = 10_000; options.firstStepEpochs = 10_000
        XCTAssertNil(message(changed { $0.method = options }))
        options.seReduction = 1; options.edeMaximumTemperature = .leastNonzeroMagnitude; options.edeMinimumTemperature = .leastNonzeroMagnitude
        options.teacherEpochs = 1; options.firstStepEpochs = 0
        XCTAssertNil(message(changed { $0.method = options }))
        var bireal = MethodSpec(.bireal)
        bireal.pretrainEpochs = 0
        XCTAssertNil(message(changed { $0.method = bireal }))
        bireal.pretrainEpochs = 10_000
        XCTAssertNil(message(changed { $0.method = bireal }))
    }

    /// Each numeric method option has a range too.
    func testMethodOptionsOutOfRange() {
        func problem(_ name: MethodSpec.Name, _ change: (inout MethodSpec) -> Void) -> String? {
            var m = MethodSpec(name)
            change(&m)
            return try? m.validate()
        }
        XCTAssertEqual(problem(.sdbnn) { $0.seReduction = 0 }, "method_options.se_reduction must be at least 1, got 0")
        XCTAssertEqual(problem(.sdbnn) { $0.seReduction = 1 << 40 }, "method_options.se_reduction must be between 1 and 1024, got 1099511627776")
        XCTAssertEqual(problem(.sdbnn) { $0.edeMaximumTemperature = .infinity },
                       "method_options.ede_max_temperature must be a finite number in (0, 1000], got inf")
        XCTAssertEqual(problem(.sdbnn) { $0.edeMaximumTemperature = 1e6 }, "method_options.ede_max_temperature must be in (0, 1000], got 1000000")
        XCTAssertEqual(problem(.sdbnn) { $0.edeMaximumTemperature = 0 }, "method_options.ede_max_temperature must be in (0, 1000], got 0")
        XCTAssertEqual(problem(.sdbnn) { $0.edeMinimumTemperature = .nan },
                       "method_options.ede_min_temperature must be positive and at most ede_max_temperature")
        XCTAssertEqual(problem(.reactnet) { $0.teacherEpochs = 0 }, "method_options.teacher_epochs must be at least 1, got 0")
        XCTAssertEqual(problem(.reactnet) { $0.teacherEpochs = 10_001 }, "method_options.teacher_epochs must be between 1 and 10000, got 10001")
        XCTAssertEqual(problem(.reactnet) { $0.firstStepEpochs = -1 }, "method_options.first_step_epochs must not be negative, got -1")
        XCTAssertEqual(problem(.reactnet) { $0.firstStepEpochs = Int.max }, "method_options.first_step_epochs must be between 0 and 10000, got \(Int.max)")
        XCTAssertEqual(problem(.bireal) { $0.pretrainEpochs = 10_001 }, "method_options.pretrain_epochs must be between 0 and 10000, got 10001")
        XCTAssertEqual(message(changed { $0.method = MethodSpec(.sdbnn); $0.method.seReduction = 5000 }),
                       "method_options.se_reduction must be between 1 and 1024, got 5000")
    }

    /// A spec file with a hostile number names the file and key.
    func testParsedSpecOutOfRangeIsRefused() {
        XCTAssertThrowsError(try SpecParser.parse("train:\n  batch_size: 1099511627776\n", source: "s.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("s.yaml"), "\(error)")
            XCTAssertTrue("\(error)".contains("train.batch_size must be between 1 and 65536, got 1099511627776"), "\(error)")
        }
        XCTAssertThrowsError(try SpecParser.parse("[ensemble]\nstrategy = \"bagging\"\nmembers = 1_000_000_000\n", source: "s.toml", format: .toml)) { error in
            XCTAssertTrue("\(error)".contains("ensemble.members must be between 1 and 1000, got 1000000000"), "\(error)")
        }
    }

    /// The cluster gets specs as JSON: decoding accepts any number that fits the type, and
    /// `validate()` must refuse the same values a spec file is refused for.
    func testHostileJSONIsRefusedByValidate() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let base = String(decoding: try encoder.encode(TrainingSpec()), as: UTF8.self)
        XCTAssertNoThrow(try decodeAndValidate(base))
        // The default spec's JSON with `"key": value` written in (replacing the key's value,
        // or added to `section`, "" for the top level, where the default leaves the key out).
        func hostile(_ key: String, _ value: String, in section: String) -> String {
            if let old = base.range(of: "\"\(key)\":[^,}]+", options: .regularExpression) {
                return base.replacingCharacters(in: old, with: "\"\(key)\":\(value)")
            }
            if section.isEmpty { return "{\"\(key)\":\(value)," + base.dropFirst() }
            return base.replacingOccurrences(of: "\"\(section)\":{", with: "\"\(section)\":{\"\(key)\":\(value),")
        }
        let refusals: [(String, String)] = [
            (hostile("batchSize", "1099511627776", in: "train"), "train.batch_size must be between 1 and 65536, got 1099511627776"),
            (hostile("members", "1000000000", in: "ensemble"), "ensemble.members must be between 1 and 1000, got 1000000000"),
            (hostile("epochs", "0", in: "train"), "train.epochs must be at least 1, got 0"),
            (hostile("cropPadding", "-4", in: "data"), "data.crop_padding must not be negative, got -4"),
            (hostile("limit", "9223372036854775807", in: "data"), "data.limit must be between 0 and 100000000, got 9223372036854775807"),
            (hostile("threads", "100000", in: ""), "threads must be between 1 and 1024, got 100000"),
            (hostile("learningRate", "1e30", in: "train"), "train.learning_rate must be in (0, 10], got 1e+30"),
            (hostile("learningRate", "-0.001", in: "train"), "train.learning_rate must be positive, got -0.001"),
            (hostile("seReduction", "0", in: "method"), "method_options.se_reduction must be at least 1, got 0"),
            (hostile("teacherEpochs", "100000000000", in: "method"), "method_options.teacher_epochs must be between 1 and 10000, got 100000000000"),
        ]
        for (json, expected) in refusals {
            XCTAssertNotEqual(json, base)
            XCTAssertThrowsError(try decodeAndValidate(json), json) { XCTAssertEqual("\($0)", expected, json) }
        }
        // Numbers no Float or Int holds, and NaN (which JSON cannot write), never get past decoding.
        for json in [hostile("learningRate", "1e300", in: "train"), hostile("batchSize", "1e40", in: "train"),
                     hostile("momentum", "\"NaN\"", in: "train")] {
            XCTAssertNotEqual(json, base)
            XCTAssertThrowsError(try decodeAndValidate(json), json)
        }
    }

    func decodeAndValidate(_ json: String) throws {
        try JSONDecoder().decode(TrainingSpec.self, from: Data(json.utf8)).validate()
    }

    /// Every spec the repository ships is inside the ranges.
    func testRepositorySpecsValidate() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent("cluster/specs")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".toml") }
        XCTAssertGreaterThan(files.count, 5)
        for file in files {
            XCTAssertNoThrow(try SpecParser.load(path: folder.appendingPathComponent(file).path), file)
        }
    }
}

/// Where a spec meets its data: the limit and hold-out must leave something to train on.
final class SpecDataTests: XCTestCase {
    func counts(_ change: (inout TrainingSpec) -> Void, training: Int = 100, test: Int? = 50) throws -> TrainingSpec.SampleCounts {
        var s = TrainingSpec()
        change(&s)
        return try s.sampleCounts(trainingSamples: training, testSamples: test, imageSize: (28, 28))
    }

    func error(_ change: (inout TrainingSpec) -> Void, training: Int = 100, test: Int? = 50) -> String? {
        do { _ = try counts(change, training: training, test: test); return nil } catch { return "\(error)" }
    }

    func testCountsAfterLimitAndHoldOut() throws {
        XCTAssertEqual(try counts { _ in }, .init(training: 100, validation: 0, test: 50))
        XCTAssertEqual(try counts { $0.data.limit = 40; $0.data.validation = 39; $0.data.testLimit = 10 }, .init(training: 1, validation: 39, test: 10))
        XCTAssertEqual(try counts { $0.data.limit = 1000; $0.data.testLimit = 1000 }, .init(training: 100, validation: 0, test: 50))
        XCTAssertEqual(try counts({ $0.data.validation = 99 }, test: nil), .init(training: 1, validation: 99, test: nil))
        XCTAssertEqual(try counts { $0.data.cropPadding = 27 }.training, 100)
    }

    func testNothingLeftToTrainOnNamesTheKeys() {
        XCTAssertEqual(error { $0.data.limit = 40; $0.data.validation = 40 },
                       "data.validation (40) must leave at least one training sample of the 40 that data.limit keeps")
        XCTAssertEqual(error { $0.data.validation = 100 },
                       "data.validation (100) must leave at least one training sample of the 100 in /usr/share/datasets/fashion-mnist")
        XCTAssertEqual(error { $0.data.limit = 500; $0.data.validation = 5000 },
                       "data.validation (5000) must leave at least one training sample of the 100 in /usr/share/datasets/fashion-mnist")
        XCTAssertEqual(error({ _ in }, training: 0), "data.directory: the training split in /usr/share/datasets/fashion-mnist has no samples")
        XCTAssertEqual(error({ $0.data.testLimit = 5 }, test: 0), "data.directory: the test split in /usr/share/datasets/fashion-mnist has no samples")
        XCTAssertEqual(error { $0.data.cropPadding = 28 }, "data.crop_padding must be smaller than the images (28x28), got 28")
    }
}
