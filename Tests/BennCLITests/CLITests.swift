import XCTest
import Foundation

/// Runs the real `benn` executable as a user would and checks what it prints and returns.
final class CLITests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(getpid())-\(abs(name.hashValue))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("benn").path
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    func run(_ arguments: [String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(["BENN_THREADS_FOR_TESTS": "1"]) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Writes a small Fashion-MNIST-layout dataset (8x8 images, classes written as a bright row).
    func writeDataset(trainCount: Int = 64, testCount: Int = 32) throws {
        func idx(_ magic: UInt32, _ dims: [Int], _ payload: [UInt8]) -> [UInt8] {
            var b: [UInt8] = [UInt8(magic >> 24), UInt8((magic >> 16) & 255), UInt8((magic >> 8) & 255), UInt8(magic & 255)]
            for d in dims { b += [UInt8(d >> 24), UInt8((d >> 16) & 255), UInt8((d >> 8) & 255), UInt8(d & 255)] }
            return b + payload
        }
        for (prefix, count) in [("train", trainCount), ("t10k", testCount)] {
            var pixels = [UInt8](repeating: 0, count: count * 64), labels = [UInt8]()
            for i in 0..<count {
                let l = (i * 7 + count) % 8
                labels.append(UInt8(l))
                for x in 0..<8 { pixels[i * 64 + l * 8 + x] = 255 }
            }
            FileManager.default.createFile(atPath: "\(directory!)/\(prefix)-images-idx3-ubyte", contents: Data(idx(0x803, [count, 8, 8], pixels)))
            FileManager.default.createFile(atPath: "\(directory!)/\(prefix)-labels-idx1-ubyte", contents: Data(idx(0x801, [count], labels)))
        }
    }

    func assertCleanFailure(_ r: Result, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(r.status, 0, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("Backtrac") || r.stderr.contains("Crash"),
                       "crashed: \(r.stderr)", file: file, line: line)
        XCTAssertLessThanOrEqual(r.stderr.split(separator: "\n").count, 3, "one clear message: \(r.stderr)", file: file, line: line)
    }

    func testTrainWritesModelAndReportThenEvalAgrees() throws {
        try writeDataset()
        let model = directory + "/m.ckpt", report = directory + "/r.json"
        let r = try run(["train", "--model", "tinymlp", "--epochs", "3", "--batch-size", "16", "--learning-rate", "0.01",
                         "--data", directory, "--threads", "1", "-o", model, "--report", report])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("test accuracy:"), r.stdout)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        XCTAssertEqual((json["epochs"] as! [Any]).count, 3)
        XCTAssertEqual(json["seed"] as? Int, 0)
        let accuracy = json["finalTestAccuracy"] as! Double
        XCTAssertNotNil(json["medianSamplesPerSecond"] as? Double)
        XCTAssertNotNil((json["versions"] as? [String: String])?["blas"])
        let e = try run(["eval", model, "--data", directory, "--threads", "1"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let percent = String(format: "%.2f%%", accuracy * 100)
        XCTAssertTrue(e.stdout.contains("test accuracy: \(percent)"), "\(e.stdout) vs \(percent)")
    }

    func testMissingDataDirectory() throws {
        assertCleanFailure(try run(["train", "--model", "tinymlp", "--data", directory + "/nope"]), mentions: "nope")
    }

    func testUnknownModelAndBadBatchSize() throws {
        assertCleanFailure(try run(["train", "--model", "bmpl"]), mentions: "unknown model 'bmpl'")
        assertCleanFailure(try run(["train", "--batch-size", "0"]), mentions: "batch_size must be positive")
        assertCleanFailure(try run(["train", "--batch-size=-3"]), mentions: "batch_size must be positive, got -3")
    }

    func testSpecTypoPointsAtLine() throws {
        let spec = directory + "/spec.yaml"
        try "model: tinymlp\ntrain:\n  epochz: 2\n".write(toFile: spec, atomically: true, encoding: .utf8)
        assertCleanFailure(try run(["train", spec]), mentions: "spec.yaml:3:3: unknown key 'epochz' in train (did you mean 'epochs'?)")
    }

    /// `benn train spec.toml` trains what the same spec in YAML trains, to the same figures.
    func testTrainFromATOMLSpecMatchesTheYAMLSpec() throws {
        try writeDataset()
        let yaml = directory + "/spec.yaml", toml = directory + "/spec.toml"
        try """
        model: tinymlp
        seed: 5
        data:
          directory: \(directory!)
        train:
          epochs: 2
          batch_size: 16
          learning_rate: 0.01
        """.write(toFile: yaml, atomically: true, encoding: .utf8)
        try """
        model = "tinymlp"
        seed = 5
        data.directory = "\(directory!)"
        [train]
        epochs = 2
        batch_size = 16
        learning_rate = 1e-2
        """.write(toFile: toml, atomically: true, encoding: .utf8)
        var reports: [[String: Any]] = []
        for spec in [yaml, toml] {
            let report = spec + ".json"
            let r = try run(["train", spec, "--threads", "1", "-o", spec + ".ckpt", "--report", report])
            XCTAssertEqual(r.status, 0, r.stderr)
            reports.append(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any])
        }
        XCTAssertEqual(reports[1]["seed"] as? Int, 5)
        XCTAssertEqual((reports[1]["epochs"] as? [Any])?.count, 2)
        XCTAssertEqual(reports[0]["finalTestAccuracy"] as? Double, reports[1]["finalTestAccuracy"] as? Double)
        XCTAssertEqual(reports[0]["spec"] as? NSDictionary, reports[1]["spec"] as? NSDictionary)
        try "model = \"tinymlp\"\n[train]\nepochz = 2\n".write(toFile: toml, atomically: true, encoding: .utf8)
        assertCleanFailure(try run(["train", toml]), mentions: "spec.toml:3:1: unknown key 'epochz' in train (did you mean 'epochs'?)")
        try "model = tinymlp\n".write(toFile: toml, atomically: true, encoding: .utf8)
        assertCleanFailure(try run(["train", toml]), mentions: "spec.toml:1:9: invalid TOML: 'tinymlp' is not a TOML value")
    }

    /// `--resume` continues a run from its checkpoint, and refuses one of another model with
    /// the checkpoint's path and the layer that differs.
    func testResumeContinuesOrNamesTheDifferingLayer() throws {
        try writeDataset()
        let spec = directory + "/bireal.yaml", checkpoint = directory + "/bireal.ckpt"
        func write(downsample: String) throws {
            try """
            model: tinyres
            method: bireal
            method_options: {resnet_downsample: \(downsample)}
            train: {epochs: 2, batch_size: 16}
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        }
        try write(downsample: "strided")
        let first = try run(["train", spec, "--epochs", "1", "--data", directory, "--threads", "1", "-o", checkpoint])
        XCTAssertEqual(first.status, 0, first.stderr)
        let resumed = try run(["train", spec, "--data", directory, "--threads", "1", "-o", directory + "/resumed.ckpt", "--resume", checkpoint])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resumed from \(checkpoint) after epoch 1"), resumed.stderr)
        XCTAssertFalse(resumed.stderr.contains("epoch 1/2"), resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("epoch 2/2"), resumed.stderr)
        try write(downsample: "avg_pool")
        assertCleanFailure(try run(["train", spec, "--data", directory, "--threads", "1", "-o", directory + "/other.ckpt", "--resume", checkpoint]),
                           mentions: "\(checkpoint): checkpoint holds a different model from the one the spec builds ('tinyres-bireal'): layer l")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/other.ckpt"))
    }

    func testTruncatedAndWrongMagicIDX() throws {
        try writeDataset()
        let images = directory + "/train-images-idx3-ubyte"
        let bytes = FileManager.default.contents(atPath: images)!
        FileManager.default.createFile(atPath: images, contents: bytes.prefix(bytes.count - 10))
        assertCleanFailure(try run(["train", "--model", "tinymlp", "--data", directory]), mentions: "train-images-idx3-ubyte")
        var wrong = [UInt8](bytes)
        wrong[3] = 0x09
        FileManager.default.createFile(atPath: images, contents: Data(wrong))
        assertCleanFailure(try run(["train", "--model", "tinymlp", "--data", directory]), mentions: "magic")
    }

    func testEvalOfCorruptModel() throws {
        let bogus = directory + "/bogus.ckpt"
        FileManager.default.createFile(atPath: bogus, contents: Data(repeating: 7, count: 100))
        assertCleanFailure(try run(["eval", bogus]), mentions: "bogus.ckpt")
    }
}

extension CLITests {
    /// The ensemble bench trains the float twin as a plain float model whatever the members' method.
    func testEnsembleBenchWithAMethodAlsoTrainsTheFloatTwin() throws {
        try writeDataset()
        let report = directory + "/ens.json"
        let r = try run(["bench", "ensemble", "--model", "tinycnn", "--members", "2", "--epochs", "1",
                         "--strategies", "bagging", "--method", "reactnet", "--data", directory,
                         "--threads", "1", "--report", report])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        XCTAssertNotNil(json["floatAccuracy"] as? Double, "\(json.keys.sorted())")
        XCTAssertEqual(json["realFirstLast"] as? Bool, false)
    }

    /// `bench ensemble --real-first-last` trains members with real ends: their artifact keeps
    /// the classifier as Float weights, and the report says so.
    func testEnsembleBenchWithRealFirstAndLastLayers() throws {
        try writeDataset()
        let report = directory + "/ens.json"
        let r = try run(["bench", "ensemble", "--model", "tinycnn", "--members", "2", "--epochs", "1",
                         "--strategies", "bagging", "--real-first-last", "--float-epochs", "0", "--data", directory,
                         "--threads", "1", "--report", report, "--keep-artifacts", directory])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        XCTAssertEqual(json["realFirstLast"] as? Bool, true)
        // The artifact's manifest (safetensors `__metadata__`) describes bnn members whose
        // only real-weighted layers are the two ends.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/bagging.benn"))
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let metadata = try XCTUnwrap(header["__metadata__"] as? [String: String])
        let manifest = metadata.values.joined()
        XCTAssertEqual(manifest.components(separatedBy: "\"binaryWeights\":false").count - 1, 2, manifest)
    }
}

extension CLITests {
    /// `bench methods --real-first-last` trains the binary rows with real ends (and says so in
    /// the report) and the float twin unchanged.
    func testMethodBenchWithRealFirstAndLastLayers() throws {
        try writeDataset()
        let report = directory + "/methods.json"
        let r = try run(["bench", "methods", "--models", "tinycnn", "--methods", "bnn,reactnet", "--epochs", "1",
                         "--real-first-last", "--data", directory, "--threads", "1", "--report", report])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        let rows = try XCTUnwrap(json["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["method"] as? String }, ["float", "bnn", "reactnet"])
        XCTAssertEqual(rows.compactMap { $0["realFirstLast"] as? Bool }, [false, true, true])
        XCTAssertEqual(rows.compactMap { $0["folded"] as? Bool }, [false, true, true])
    }
}

extension CLITests {
    /// `bench methods --resnet-shortcut` places every binary ResNet row's shortcuts (and the
    /// report says where each row's went); without it each method places its own.
    func testMethodBenchPlacesResNetShortcuts() throws {
        try writeDataset()
        for (flag, expected) in [(nil, ["per_block", "per_conv"]), ("per_conv", ["per_conv", "per_conv"])] {
            let report = directory + "/methods-\(flag ?? "default").json"
            let r = try run(["bench", "methods", "--models", "tinyres", "--methods", "bnn,bireal", "--epochs", "1", "--limit", "64",
                             "--data", directory, "--threads", "1", "--report", report] + (flag.map { ["--resnet-shortcut", $0] } ?? []))
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
            let rows = try XCTUnwrap(json["rows"] as? [[String: Any]])
            XCTAssertEqual(rows.compactMap { $0["method"] as? String }, ["float", "bnn", "bireal"])
            XCTAssertNil(rows[0]["resnetShortcut"] as? String)
            XCTAssertEqual(rows.compactMap { $0["resnetShortcut"] as? String }, expected)
        }
        let bad = try run(["bench", "methods", "--models", "tinyres", "--resnet-shortcut", "per_layer", "--data", directory])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("per_layer"), bad.stderr)
    }
}

extension CLITests {
    /// `bench methods --seeds`: each row once per seed, each seed's rows as a one-seed table
    /// gives them, and a summary whose means and paired differences from bnn are the rows'.
    func testMethodBenchOverSeeds() throws {
        try writeDataset()
        func table(_ extra: [String]) throws -> [String: Any] {
            let report = directory + "/methods-\(extra.count)-\(extra[1].count).json"
            let r = try run(["bench", "methods", "--models", "tinycnn", "--methods", "bnn,xnor", "--epochs", "1",
                             "--data", directory, "--threads", "1", "--report", report] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        }
        let both = try table(["--seeds", "4,7"]), seven = try table(["--seed", "7"])
        let rows = try XCTUnwrap(both["rows"] as? [[String: Any]])
        XCTAssertEqual(both["seeds"] as? [Int], [4, 7])
        XCTAssertEqual(rows.compactMap { $0["seed"] as? Int }, [4, 4, 4, 7, 7, 7])
        XCTAssertEqual(rows.compactMap { $0["method"] as? String }, ["float", "bnn", "xnor", "float", "bnn", "xnor"])
        let single = try XCTUnwrap(seven["rows"] as? [[String: Any]])
        for (a, b) in zip(rows[3...], single) { XCTAssertEqual(a["testAccuracy"] as? Double, b["testAccuracy"] as? Double) }
        func accuracy(_ i: Int) -> Double { rows[i]["testAccuracy"] as! Double }
        let summary = try XCTUnwrap(both["summary"] as? [[String: Any]])
        XCTAssertEqual(summary.compactMap { $0["method"] as? String }, ["float", "bnn", "xnor"])
        XCTAssertEqual(summary[2]["meanAccuracy"] as! Double, (accuracy(2) + accuracy(5)) / 2, accuracy: 1e-6)
        XCTAssertEqual(summary[2]["standardDeviation"] as! Double, abs(accuracy(2) - accuracy(5)) / 2.squareRoot(), accuracy: 1e-6)
        let differences = try XCTUnwrap(summary[2]["differencesFromBNN"] as? [Double])
        XCTAssertEqual(differences[0], accuracy(2) - accuracy(1), accuracy: 1e-6)
        XCTAssertEqual(differences[1], accuracy(5) - accuracy(4), accuracy: 1e-6)
        XCTAssertEqual(summary[1]["meanDifferenceFromBNN"] as? Double, 0)
        XCTAssertNil(summary[0]["meanDifferenceFromBNN"] as? Double)
        let base: [String] = ["bench", "methods", "--models", "tinycnn", "--methods", "bnn", "--epochs", "1", "--data", directory]
        assertCleanFailure(try run(base + ["--seeds", "1,x"]), mentions: "--seeds takes comma-separated non-negative integers, got 'x'")
        assertCleanFailure(try run(base + ["--seeds", "1,1"]), mentions: "no seed twice")
        // Float twins from files: one per seed, each row naming its own.
        var twins: [String] = []
        for seed in ["4", "7"] {
            twins.append(directory + "/fcnn-\(seed).ckpt")
            let r = try run(["train", "--model", "fcnn", "--epochs", "1", "--seed", seed, "--data", directory, "--threads", "1", "-o", twins.last!])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let fromFiles = try XCTUnwrap(try table(["--seeds", "4,7", "--twin", twins[1], "--twin", twins[0]])["rows"] as? [[String: Any]])
        XCTAssertEqual(fromFiles.compactMap { $0["twinFile"] as? String }, twins)
        XCTAssertEqual(fromFiles.map { $0["testAccuracy"] as? Double }, rows.map { $0["testAccuracy"] as? Double })
        assertCleanFailure(try run(base + ["--seeds", "4,7", "--twin", twins[0]]), mentions: "seed is 4, the table's 7")
        assertCleanFailure(try run(base + ["--seeds", "4,7", "--twin", twins[0], "--twin", twins[0]]), mentions: "two files for 'fcnn' with seed 4")
    }
}

extension CLITests {
    /// `bench methods --twin FILE` takes the float twin from a checkpoint trained with the
    /// table's spec: its row is the file's, and ReActNet, which distils from it, trains to the
    /// same result as when the bench trains the twin itself.
    func testMethodBenchReadsTheFloatTwinFromAFile() throws {
        try writeDataset()
        let twin = directory + "/fcnn.ckpt"
        let trained = try run(["train", "--model", "fcnn", "--epochs", "1", "--seed", "3", "--data", directory,
                               "--threads", "1", "-o", twin])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        func table(_ extra: [String]) throws -> (rows: [[String: Any]], log: String) {
            let report = directory + "/methods-\(extra.count).json"
            let r = try run(["bench", "methods", "--models", "tinycnn", "--methods", "reactnet", "--epochs", "1", "--seed", "3",
                             "--data", directory, "--threads", "1", "--report", report] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
            return (try XCTUnwrap(json["rows"] as? [[String: Any]]), r.stdout + r.stderr)
        }
        let (fromFile, fileLog) = try table(["--twin", twin]), (trainedHere, hereLog) = try table([])
        // Equal accuracies alone would also follow from retraining with the same seed.
        XCTAssertTrue(fileLog.contains("fcnn (float) from \(twin)"), fileLog)
        XCTAssertFalse(fileLog.contains("training fcnn"), fileLog)
        XCTAssertTrue(hereLog.contains("training fcnn (float)"), hereLog)
        XCTAssertEqual(fromFile.compactMap { $0["method"] as? String }, ["float", "reactnet"])
        XCTAssertEqual(fromFile[0]["twinFile"] as? String, twin)
        XCTAssertNil(trainedHere[0]["twinFile"] as? String)
        for key in ["testAccuracy", "accuracyPerEpoch"] {
            XCTAssertEqual(fromFile[0][key] as? NSObject, trainedHere[0][key] as? NSObject, "float row's \(key)")
            XCTAssertEqual(fromFile[1][key] as? NSObject, trainedHere[1][key] as? NSObject, "ReActNet row's \(key)")
        }
    }

    /// A twin trained with another budget or seed, or one that is not the table's twin, is
    /// refused with a message naming what differs.
    func testMethodBenchRefusesATwinTrainedDifferently() throws {
        try writeDataset()
        let twin = directory + "/fcnn.ckpt", other = directory + "/fmlp.ckpt"
        for (model, path) in [("fcnn", twin), ("fmlp", other)] {
            let r = try run(["train", "--model", model, "--epochs", "1", "--data", directory, "--threads", "1", "-o", path])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let base: [String] = ["bench", "methods", "--models", "tinycnn", "--methods", "bnn", "--data", directory, "--threads", "1"]
        assertCleanFailure(try run(base + ["--epochs", "2", "--twin", twin]), mentions: "train.epochs is 1, the table's 2")
        assertCleanFailure(try run(base + ["--epochs", "1", "--seed", "9", "--twin", twin]), mentions: "seed is 0, the table's 9")
        assertCleanFailure(try run(base + ["--epochs", "1", "--twin", other]), mentions: "not the float twin")
        assertCleanFailure(try run(base + ["--epochs", "1", "--twin", directory + "/missing.ckpt"]), mentions: "missing.ckpt")
    }
}

extension CLITests {
    /// `bench methods --variant METHOD:KEY=VALUE,...`: one more row per model, trained exactly
    /// as `benn train` trains a spec with those method options; malformed variants and
    /// unknown options are refused naming what is wrong.
    func testMethodBenchTrainsVariants() throws {
        try writeDataset()
        let report = directory + "/methods-variants.json"
        let variants = ["xnor:activation_scaling=true", "bnn:resnet_shortcut=per_conv,real_first_last=true"]
        let r = try run(["bench", "methods", "--models", "tinyres", "--methods", "bnn,xnor", "--epochs", "2", "--seed", "5",
                         "--data", directory, "--threads", "1", "--report", report] + variants.flatMap { ["--variant", $0] })
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("tinyres  xnor:activation_scaling=true "), r.stdout)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        let rows = try XCTUnwrap(json["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["method"] as? String }, ["float", "bnn", "xnor"] + variants)
        XCTAssertEqual(rows.compactMap { $0["resnetShortcut"] as? String }, ["per_block", "per_block", "per_block", "per_conv"])
        XCTAssertEqual(rows.compactMap { $0["realFirstLast"] as? Bool }, [false, false, false, false, true])

        // The same method options in a spec, trained by `benn train`: the same losses per epoch.
        let spec = directory + "/xnor-k.yaml"
        try "model: tinyres\nmethod: xnor\nmethod_options:\n  activation_scaling: true\nseed: 5\n"
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let trainReport = directory + "/xnor-k.json"
        let trained = try run(["train", spec, "--epochs", "2", "--data", directory, "--threads", "1", "-o", directory + "/xnor-k.ckpt",
                               "--report", trainReport])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let trainJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: trainReport))) as! [String: Any]
        let epochs = try XCTUnwrap(trainJSON["epochs"] as? [[String: Any]])
        let losses = rows.map { $0["lossPerEpoch"] as? [Double] }
        XCTAssertEqual(losses[3], epochs.map { $0["loss"] as? Double ?? .nan })
        XCTAssertNotEqual(losses[3], losses[2], "activation scaling changes xnor's training")

        let base: [String] = ["bench", "methods", "--models", "tinycnn", "--methods", "bnn", "--epochs", "1", "--data", directory]
        assertCleanFailure(try run(base + ["--variant", "xnor:activation_scale=true"]),
                           mentions: "--variant 'xnor:activation_scale=true': unknown key 'activation_scale' in method_options (method xnor)")
        assertCleanFailure(try run(base + ["--variant", "xnr:gradient=full"]), mentions: "--variant 'xnr:gradient=full'")
        assertCleanFailure(try run(base + ["--variant", "xnor:mean_center"]), mentions: "'mean_center' is not KEY=VALUE")
        assertCleanFailure(try run(base + ["--variant", "xnor:mean_center=maybe"]), mentions: "method_options.mean_center")
        assertCleanFailure(try run(base + ["--variant", "sdbnn:teacher=/tmp/t.ckpt"]), mentions: "use teacher=train")
        assertCleanFailure(try run(base + ["--variant", "bnn"]), mentions: "two 'bnn' rows")
    }
}

extension CLITests {
    /// `bench methods --teacher-epochs N`: ReActNet learns from a float twin trained for N
    /// epochs, exactly as `benn train` does with `teacher_epochs: N`, while the twin row keeps
    /// the table's budget.
    func testMethodBenchTrainsAShorterTeacher() throws {
        try writeDataset()
        func table(_ extra: [String]) throws -> (rows: [[String: Any]], json: [String: Any], log: String) {
            let report = directory + "/methods-teacher-\(extra.count).json"
            let r = try run(["bench", "methods", "--models", "tinycnn", "--methods", "reactnet", "--epochs", "2", "--seed", "3",
                             "--data", directory, "--threads", "1", "--report", report] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
            return (try XCTUnwrap(json["rows"] as? [[String: Any]]), json, r.stdout + r.stderr)
        }
        let shorter = try table(["--teacher-epochs", "1"]), twinTaught = try table([])
        XCTAssertEqual(shorter.json["teacherEpochs"] as? Int, 1)
        XCTAssertNil(twinTaught.json["teacherEpochs"] as? Int)
        XCTAssertTrue(shorter.log.contains("training fcnn (teacher), 1 epochs"), shorter.log)
        XCTAssertEqual(shorter.rows[0]["accuracyPerEpoch"] as? [Double], twinTaught.rows[0]["accuracyPerEpoch"] as? [Double],
                       "the twin row keeps the table's two epochs")
        let losses = shorter.rows[1]["lossPerEpoch"] as? [Double]
        XCTAssertNotEqual(losses, twinTaught.rows[1]["lossPerEpoch"] as? [Double], "a one-epoch teacher gives other targets")

        let spec = directory + "/reactnet-t1.yaml"
        try "model: tinycnn\nmethod: reactnet\nmethod_options:\n  teacher_epochs: 1\nseed: 3\n"
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let trainReport = directory + "/reactnet-t1.json"
        let trained = try run(["train", spec, "--epochs", "2", "--data", directory, "--threads", "1",
                               "-o", directory + "/reactnet-t1.ckpt", "--report", trainReport])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let trainJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: trainReport))) as! [String: Any]
        let epochs = try XCTUnwrap(trainJSON["epochs"] as? [[String: Any]])
        XCTAssertEqual(losses, epochs.map { $0["loss"] as? Double ?? .nan })

        assertCleanFailure(try run(["bench", "methods", "--models", "tinycnn", "--methods", "reactnet", "--teacher-epochs", "0",
                                    "--data", directory]), mentions: "--teacher-epochs must be at least 1, got 0")
    }
}

/// `--set key=value` on the benchmarks that train from specs: applied to every spec they
/// train, with `train --set`'s errors.
extension CLITests {
    func testMethodBenchSetsSpecKeysInEveryRow() throws {
        try writeDataset()
        let report = directory + "/methods.json"
        let r = try run(["bench", "methods", "--models", "tinycnn", "--methods", "bnn,xnor", "--epochs", "3", "--data", directory,
                         "--threads", "1", "--set", "train.epochs=1", "--set", "train.batch_size=16", "--report", report])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        let rows = try XCTUnwrap(json["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["method"] as? String }, ["float", "bnn", "xnor"])
        XCTAssertEqual(rows.compactMap { $0["epochs"] as? Int }, [1, 1, 1])
        XCTAssertEqual(rows.compactMap { ($0["accuracyPerEpoch"] as? [Any])?.count }, [1, 1, 1])
        let recipe = try XCTUnwrap(json["recipe"] as? [String: Any])
        XCTAssertEqual(recipe["epochs"] as? Int, 1)
        XCTAssertEqual(recipe["batchSize"] as? Int, 16)
        let base: [String] = ["bench", "methods", "--models", "tinycnn", "--methods", "bnn", "--data", directory, "--threads", "1"]
        assertCleanFailure(try run(base + ["--set", "train.epochz=1"]), mentions: "--set train.epochz=1: unknown key 'train.epochz' (did you mean 'train.epochs'?)")
        assertCleanFailure(try run(base + ["--set", "train.batch_size=0"]), mentions: "--set train.batch_size=0: train.batch_size")
        assertCleanFailure(try run(base + ["--set", "method_options.activation_scaling=true"]), mentions: "method bnn does not take activation_scaling")
    }

    func testTrainingBenchSetsSpecKeysInEverySpec() throws {
        try writeDataset()
        let report = directory + "/training.json"
        let r = try run(["bench", "training", "--models", "bmlp", "--bmlp-epochs", "3", "--data", directory, "--threads", "1",
                         "--set", "train.epochs=1", "--set", "train.batch_size=16", "--report", report])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        let rows = try XCTUnwrap(json["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["model"] as? String }, ["bmlp", "fmlp"])
        XCTAssertEqual(rows.compactMap { $0["epochs"] as? Int }, [1, 1])
        let base: [String] = ["bench", "training", "--models", "bmlp", "--data", directory, "--threads", "1"]
        assertCleanFailure(try run(base + ["--set", "train.epochz=1"]), mentions: "--set train.epochz=1: unknown key 'train.epochz' (did you mean 'train.epochs'?)")
        assertCleanFailure(try run(base + ["--set", "ensemble.members=5000", "--set", "ensemble.strategy=bagging"]),
                           mentions: "--set ensemble.members=5000: ensemble.members must be between 1 and 1000, got 5000")
    }
}
