import XCTest
import BennTrain

final class SpecParserTests: XCTestCase {
    func testFullSpecParses() throws {
        let spec = try SpecParser.parse("""
        model: bcnn
        seed: 42
        threads: 2
        data:
          directory: /tmp/fm
          validation: 5000
          crop_padding: 2
          flip: true
        train:
          epochs: 5
          batch_size: 64
          optimizer: sgd
          learning_rate: 0.1
          momentum: 0.8
          schedule: step
          step_epochs: 2
          step_factor: 0.5
          label_smoothing: 0.1
        """)
        XCTAssertEqual(spec.model, "bcnn")
        XCTAssertEqual(spec.seed, 42)
        XCTAssertEqual(spec.threads, 2)
        XCTAssertEqual(spec.data.directory, "/tmp/fm")
        XCTAssertEqual(spec.data.validation, 5000)
        XCTAssertEqual(spec.data.cropPadding, 2)
        XCTAssertTrue(spec.data.flip)
        XCTAssertEqual(spec.train.epochs, 5)
        XCTAssertEqual(spec.train.batchSize, 64)
        XCTAssertEqual(spec.train.optimizer, .sgd)
        XCTAssertEqual(spec.train.learningRate, 0.1)
        XCTAssertEqual(spec.train.momentum, 0.8)
        XCTAssertEqual(spec.train.schedule, .step)
        XCTAssertEqual(spec.train.stepEpochs, 2)
        XCTAssertEqual(spec.train.stepFactor, 0.5)
        XCTAssertEqual(spec.train.labelSmoothing, 0.1)
    }

    func testEmptySpecGivesDefaults() throws {
        XCTAssertEqual(try SpecParser.parse(""), TrainingSpec())
    }

    private func error(_ yaml: String) -> String {
        do {
            _ = try SpecParser.parse(yaml, source: "s.yaml")
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testTypoNamesLineAndSuggestsKey() {
        let e = error("model: bmlp\ntrain:\n  epochs: 3\n  batch_szie: 64\n")
        XCTAssertTrue(e.hasPrefix("s.yaml:4:3:"), e)
        XCTAssertTrue(e.contains("unknown key 'batch_szie'"), e)
        XCTAssertTrue(e.contains("did you mean 'batch_size'"), e)
    }

    func testUnknownModelListsValidOnes() {
        let e = error("model: bmpl\n")
        XCTAssertTrue(e.contains("unknown model 'bmpl'") && e.contains("bmlp, bcnn"), e)
    }

    func testWrongTypesAndRanges() {
        XCTAssertTrue(error("train:\n  batch_size: 0\n").contains("s.yaml:2:15: train.batch_size must be at least 1"), error("train:\n  batch_size: 0\n"))
        XCTAssertTrue(error("train:\n  epochs: three\n").contains("must be a whole number, got 'three'"))
        XCTAssertTrue(error("train:\n  optimizer: adamw\n").contains("valid: adam, sgd"))
        XCTAssertTrue(error("data:\n  flip: maybe\n").contains("must be true or false"))
        XCTAssertTrue(error("train: 5\n").contains("train must be a mapping"))
        XCTAssertTrue(error("seed: 1\nseed: 2\n").contains("appears twice"))
        XCTAssertTrue(error("train:\n  learning_rate: -1\n").contains("learning_rate"))
    }

    func testYAMLSyntaxErrorHasLocation() {
        let e = error("model: bmlp\ntrain:\n  epochs: [1, 2\n")
        XCTAssertTrue(e.hasPrefix("s.yaml:"), e)
        XCTAssertTrue(e.contains("YAML syntax error"), e)
    }

    func testMissingFile() {
        XCTAssertThrowsError(try SpecParser.load(path: "/nonexistent/spec.yaml")) { e in
            XCTAssertEqual("\(e)", "/nonexistent/spec.yaml: spec file not found")
        }
    }
}
