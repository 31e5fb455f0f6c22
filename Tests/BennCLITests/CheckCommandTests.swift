import XCTest
import Foundation

/// `benn check SPEC`: reads a spec as `benn train` does, loads no data, and prints the spec it
/// means and `ok`, or one line naming the problem and where.
extension CLITests {
    func testCheckPrintsTheSpecAndOk() throws {
        let spec = directory + "/spec.yaml"
        try """
        model: tinymlp
        method: sdbnn
        method_options:
          se_reduction: 8
        data:
          directory: /nowhere/at/all
          limit: 100
        train:
          epochs: 3
          batch_size: 16
        ensemble:
          strategy: bagging
          members: 3
        """.write(toFile: spec, atomically: true, encoding: .utf8)
        let r = try run(["check", spec])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "model: tinymlp")
        XCTAssertEqual(lines.last, "ok")
        XCTAssertFalse(r.stdout.contains("activation_scaling"), "an xnor option listed for sdbnn:\n\(r.stdout)")
        for line in ["method: sdbnn", "method_options.se_reduction: 8", "data.directory: /nowhere/at/all", "data.limit: 100",
                     "train.epochs: 3", "train.batch_size: 16", "train.learning_rate: 0.001", "ensemble.members: 3", "ensemble.strategy: bagging"] {
            XCTAssertTrue(lines.contains(line), "\(line) not in:\n\(r.stdout)")
        }
        // Flags override the file as they do for `train`.
        let flagged = try run(["check", spec, "--epochs", "7", "--json"])
        XCTAssertEqual(flagged.status, 0, flagged.stderr)
        XCTAssertTrue(flagged.stdout.hasSuffix("ok\n"), flagged.stdout)
        let json = try JSONSerialization.jsonObject(with: Data(flagged.stdout.dropLast(3).utf8)) as! [String: Any]
        XCTAssertEqual((json["train"] as? [String: Any])?["epochs"] as? Int, 7)
        XCTAssertEqual((json["method"] as? [String: Any])?["seReduction"] as? Int, 8)
    }

    func testCheckNamesTheProblemAndWhere() throws {
        let yaml = directory + "/spec.yaml", toml = directory + "/spec.toml"
        try "model: tinymlp\ntrain:\n  epochz: 2\n".write(toFile: yaml, atomically: true, encoding: .utf8)
        assertCleanFailure(try run(["check", yaml]), mentions: "spec.yaml:3:3: unknown key 'epochz' in train (did you mean 'epochs'?)")
        try "[train]\nbatch_size = 1099511627776\n".write(toFile: toml, atomically: true, encoding: .utf8)
        let big = try run(["check", toml])
        assertCleanFailure(big, mentions: "train.batch_size must be between 1 and 65536, got 1099511627776")
        XCTAssertFalse(big.stdout.contains("ok"), big.stdout)
        XCTAssertEqual(big.status, 1)
        assertCleanFailure(try run(["check", "--epochs", "0"]), mentions: "train.epochs must be at least 1, got 0")
        assertCleanFailure(try run(["check", directory + "/missing.yaml"]), mentions: "missing.yaml: spec file not found")
    }
}

/// `--set key=value` on `check` and `train`, and `check --schema`.
extension CLITests {
    func testSetOverridesAnyKeyOnCheckAndTrain() throws {
        try writeDataset()
        let spec = directory + "/spec.yaml"
        try "model: tinymlp\ntrain:\n  epochs: 3\n".write(toFile: spec, atomically: true, encoding: .utf8)
        let r = try run(["check", spec, "--set", "train.epochs=1", "--set", "method_options.resnet_shortcut=per_conv", "--set", "data.limit=40"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for line in ["train.epochs: 1", "method_options.resnet_shortcut: per_conv", "data.limit: 40"] {
            XCTAssertTrue(r.stdout.contains(line + "\n"), "\(line) not in:\n\(r.stdout)")
        }
        assertCleanFailure(try run(["check", spec, "--set", "train.epochz=1"]), mentions: "--set train.epochz=1: unknown key 'train.epochz' (did you mean 'train.epochs'?)")
        assertCleanFailure(try run(["check", "--set", "ensemble.members=5000", "--set", "ensemble.strategy=bagging"]),
                           mentions: "--set ensemble.members=5000: ensemble.members must be between 1 and 1000, got 5000")
        let report = directory + "/r.json"
        let t = try run(["train", spec, "--data", directory, "--set", "train.epochs=1", "--set", "train.batch_size=16",
                         "--set", "seed=4", "-o", directory + "/m.ckpt", "--report", report])
        XCTAssertEqual(t.status, 0, t.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        XCTAssertEqual((json["epochs"] as? [Any])?.count, 1)
        XCTAssertEqual(json["seed"] as? Int, 4)
        assertCleanFailure(try run(["train", spec, "--data", directory, "--set", "data.validation=64"]),
                           mentions: "data.validation (64) must leave at least one training sample of the 64 in \(directory!)")
    }

    func testCheckSchemaListsEveryKey() throws {
        let r = try run(["check", "--schema"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("| key | type | values | default | methods | meaning |\n"), r.stdout)
        for key in ["model", "method_options.se_reduction", "data.test_limit", "train.label_smoothing", "ensemble.start"] {
            XCTAssertTrue(r.stdout.contains("| `\(key)` |"), key)
        }
    }
}
