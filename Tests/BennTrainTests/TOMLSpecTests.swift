import XCTest
import BennRandom
@testable import BennTrain

/// TOML specs read to the same `TrainingSpec` as their YAML form, and bad TOML gets an error
/// naming the line and column.
final class TOMLSpecTests: XCTestCase {
    private let fullYAML = """
    model: bcnn
    method: reactnet
    method_options:
      teacher: /tmp/fcnn.ckpt
      first_step_epochs: 2
      real_first_last: true
    seed: 42
    threads: 2
    data:
      directory: /tmp/fm
      validation: 5000
      crop_padding: 2
      flip: true
      limit: 20000
    train:
      epochs: 5
      batch_size: 64
      optimizer: sgd
      learning_rate: 0.1
      momentum: 0.8
      nesterov: true
      weight_decay: 0.0005
      schedule: step
      step_epochs: 2
      step_factor: 0.5
      label_smoothing: 0.1
    ensemble:
      strategy: boosting
      members: 3
      boosting_rule: samme_shrunk
      start: sequential
    """

    private let fullTOML = """
    # Comments, blank lines and trailing comments are allowed everywhere a line may end.
    model = "bcnn"
    method = "reactnet"
    seed = 42
    threads = 2

    [method_options]
    teacher = '/tmp/fcnn.ckpt'   # a literal string
    first_step_epochs = 2
    real_first_last = true

    [data]
    directory = "/tmp/fm"
    validation = 5_000
    crop_padding = 2
    flip = true
    limit = 20000

    [train]
    epochs = 5
    batch_size = 0x40
    optimizer = "sgd"
    learning_rate = 0.1
    momentum = 8e-1
    nesterov = true
    weight_decay = 5.0E-4
    schedule = "step"
    step_epochs = 2
    step_factor = 0.5
    label_smoothing = 0.1

    [ensemble]
    strategy = "boosting"
    members = 3
    boosting_rule = "samme_shrunk"
    start = "sequential"
    """

    func testTOMLReadsToTheSameSpecAsYAML() throws {
        let yaml = try SpecParser.parse(fullYAML)
        XCTAssertEqual(try SpecParser.parse(fullTOML, format: .toml), yaml)
        XCTAssertNotEqual(yaml, TrainingSpec(), "the spec must set fields away from their defaults")
        XCTAssertEqual(yaml.train.batchSize, 64)
        XCTAssertEqual(yaml.method.teacher, "/tmp/fcnn.ckpt")
    }

    /// Dotted keys, inline tables, quoted keys and every string form name the same fields.
    func testEveryTOMLSpellingOfTheSameSpec() throws {
        let plain = try SpecParser.parse("""
        model = "bcnn"
        [train]
        epochs = 3
        learning_rate = 0.01
        [data]
        directory = "/data/fm"
        """, format: .toml)
        let spellings = [
            """
            model = "bcnn"
            train.epochs = 3
            train.learning_rate = 1e-2
            data.directory = "/data/fm"
            """,
            """
            model = "bcnn"
            train = { epochs = 3, learning_rate = 0.01 }
            data = {directory="/data/fm"}
            """,
            """
            "model" = 'bcnn'
            [ "train" ]
            'epochs' = +3
            "learning_rate" = 0.0_1
            [data]
            directory = \"\"\"
            /data/fm\"\"\"
            """,
            "\u{FEFF}model = \"bc\\u006En\"\r\ndata.directory = '''/data/fm'''\r\n[train]\r\nepochs = 3\r\nlearning_rate = 0.01\r\n",
        ]
        for toml in spellings {
            XCTAssertEqual(try SpecParser.parse(toml, format: .toml), plain, toml)
        }
        XCTAssertEqual(plain.train.epochs, 3)
        XCTAssertEqual(plain.data.directory, "/data/fm")
    }

    func testStringEscapesAndMultilineStrings() throws {
        func directory(_ value: String) throws -> String {
            try SpecParser.parse("data.directory = \(value)\n", format: .toml).data.directory
        }
        XCTAssertEqual(try directory(#""a\tb\"c\\d\u00E9\U0001F600""#), "a\tb\"c\\d\u{E9}\u{1F600}")
        XCTAssertEqual(try directory(#"'C:\data\fm'"#), #"C:\data\fm"#)
        XCTAssertEqual(try directory("\"\"\"\nline one\nline two\"\"\""), "line one\nline two")
        XCTAssertEqual(try directory("\"\"\"\n/data/\\\n    fm\"\"\""), "/data/fm", "a line-ending backslash joins the lines")
        XCTAssertEqual(try directory("'''\n'quoted' ''path'''''"), "'quoted' ''path''")
        XCTAssertEqual(try directory("\"\"\"say \"\"hi\"\"\"\"\""), "say \"\"hi\"\"")
    }

    private func error(_ toml: String) -> String {
        do {
            _ = try SpecParser.parse(toml, source: "s.toml", format: .toml)
            return "no error"
        } catch let e as SpecError {
            return "\(e)"
        } catch {
            return "not a SpecError: \(error)"
        }
    }

    func testSpecErrorsPointAtTheTOMLText() {
        XCTAssertEqual(error("model = \"bmlp\"\n[train]\nepochs = 3\nbatch_szie = 64\n"),
                       "s.toml:4:1: unknown key 'batch_szie' in train (did you mean 'batch_size'?); valid keys: "
                       + "epochs, batch_size, optimizer, learning_rate, momentum, nesterov, weight_decay, schedule, "
                       + "step_epochs, step_factor, minimum_learning_rate, label_smoothing")
        XCTAssertTrue(error("train.batch_szie = 64\n").hasPrefix("s.toml:1:7: unknown key 'batch_szie'"), error("train.batch_szie = 64\n"))
        XCTAssertTrue(error("[train]\nbatch_size = 0\n").hasPrefix("s.toml:2:14: train.batch_size must be at least 1"))
        XCTAssertTrue(error("train = 5\n").contains("s.toml:1:9: train must be a mapping"))
        XCTAssertTrue(error("[train]\noptimizer = \"adamw\"\n").contains("valid: adam, sgd"))
        XCTAssertTrue(error("model = \"bmpl\"\n").contains("unknown model 'bmpl'"))
        XCTAssertTrue(error("[data]\nflip = \"maybe\"\n").contains("s.toml:2:8: data.flip must be true or false"))
        XCTAssertTrue(error("seed = [1, 2]\n").contains("s.toml:1:8: seed must be a single value"))
    }

    func testSyntaxErrorsNameLineAndColumn() {
        let cases: [(String, String)] = [
            ("model = bcnn\n", "s.toml:1:9: invalid TOML: 'bcnn' is not a TOML value (strings need quotes: \"bcnn\")"),
            ("seed = 1\nmodel = \"bcnn\n", "s.toml:2:9: invalid TOML: string not closed on its line"),
            ("seed = 1\nseed = 2\n", "s.toml:2:1: invalid TOML: key 'seed' appears twice (first on line 1)"),
            ("[train]\nepochs = 1\n[train]\n", "s.toml:3:1: invalid TOML: table [train] is defined twice (first on line 1)"),
            ("train.epochs = 1\n[train]\n", "s.toml:2:1: invalid TOML: table [train] is defined twice (first on line 1)"),
            ("seed = 1\n[seed]\n", "s.toml:2:2: invalid TOML: 'seed' is already a value (line 1), not a table"),
            ("train = { epochs = 1 }\ntrain.batch_size = 2\n", "s.toml:2:1: invalid TOML: 'train' is already a value (line 1), not a table"),
            ("seed = 1979-05-27\n", "s.toml:1:8: invalid TOML: '1979-05-27' is a TOML date or time; no spec field takes one"),
            ("[[train]]\n", "s.toml:1:1: invalid TOML: arrays of tables ([[...]]) are not part of a benn spec"),
            ("model \"bcnn\"\n", "s.toml:1:7: invalid TOML: expected '=' after the key 'model'"),
            ("model = \n", "s.toml:1:9: invalid TOML: expected a value after '='"),
            ("model = \"bcnn\" seed = 1\n", "s.toml:1:16: invalid TOML: expected the end of the line, got 's'"),
            ("data.directory = \"a\\qb\"\n", "s.toml:1:20: invalid TOML: unknown escape '\\q'"),
            ("data.directory = \"a\u{0}b\"\n", "s.toml:1:20: invalid TOML: control character U+0000 is not allowed here"),
            ("# a comment with \u{7F}\n", "s.toml:1:18: invalid TOML: control character U+007F"),
            ("data.directory = \"a\\eb\"\n", "s.toml:1:20: invalid TOML: unknown escape '\\e'"),
            ("seed = 007\n", "s.toml:1:8: invalid TOML: '007' is not a TOML value"),
            ("seed = 1__0\n", "s.toml:1:8: invalid TOML: '1__0' is not a TOML value"),
            ("[train\n", "s.toml:1:7: invalid TOML: expected ']' to close the table header"),
            ("= 3\n", "s.toml:1:1: invalid TOML: expected a key"),
            ("train = { epochs = 1\n", "s.toml:1:21: invalid TOML: expected ',' or '}' in the inline table, got the end of the line"),
            ("data.directory = \"\"\"abc\n", "s.toml:1:18: invalid TOML: string opened with \"\"\" is not closed"),
        ]
        for (toml, expected) in cases {
            XCTAssertTrue(error(toml).hasPrefix(expected), "\(toml.debugDescription): \(error(toml))")
        }
    }

    /// Truncated and corrupted documents are refused with a `SpecError` (or read, when the
    /// damage leaves valid TOML), never a crash or another kind of error.
    func testDamagedTOMLNeverCrashes() {
        let bytes = Array(fullTOML.utf8)
        for cut in stride(from: 0, through: bytes.count, by: 1) {
            let e = error(String(decoding: bytes[..<cut], as: UTF8.self))
            XCTAssertFalse(e.hasPrefix("not a SpecError"), "cut at \(cut): \(e)")
        }
        var rng = SeededGenerator(seed: 7)
        let alphabet = Array("\"'[]{}=.,#\\\n\r\t _-+0123456789abcdefxuUeE:\u{0}\u{FEFF}é".unicodeScalars)
        var refused = 0
        for _ in 0..<3000 {
            var scalars = Array(fullTOML.unicodeScalars)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<scalars.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: scalars[i] = alphabet.randomElement(using: &rng)!
                case 1: scalars.remove(at: i)
                default: scalars.insert(alphabet.randomElement(using: &rng)!, at: i)
                }
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            let e = error(text)
            XCTAssertFalse(e.hasPrefix("not a SpecError"), "\(text.debugDescription): \(e)")
            if e != "no error" { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 1000, "most corruptions must be refused")
    }

    func testLoadReadsTOMLByTheFileExtension() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("benn-toml-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["spec.toml", "SPEC.TOML"] {
            let path = directory.appendingPathComponent(name).path
            try fullTOML.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertEqual(try SpecParser.load(path: path), try SpecParser.parse(fullYAML), name)
        }
        // The same TOML under a .yaml name is read as YAML, which it is not.
        let misnamed = directory.appendingPathComponent("spec.yaml").path
        try fullTOML.write(toFile: misnamed, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SpecParser.load(path: misnamed))
    }

    /// The TOML example in cluster/specs says the same as its YAML original.
    func testTheTOMLExampleSpecMatchesItsYAML() throws {
        let specs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("cluster/specs")
        let toml = try SpecParser.load(path: specs.appendingPathComponent("sdbnn.toml").path)
        XCTAssertEqual(toml, try SpecParser.load(path: specs.appendingPathComponent("sdbnn.yaml").path))
        XCTAssertEqual(toml.method.name, .sdbnn)
    }
}
