import XCTest
import Foundation
import BennEnsemble

/// `benn serve` and `benn predict` on artifacts that must be refused at load.
extension CLITests {
    /// Runs `benn` with a deadline (a server that wrongly starts would run forever).
    func run(_ arguments: [String], deadline seconds: Double) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(["BENN_THREADS_FOR_TESTS": "1"]) { $1 }
        let outPath = directory + "/run.out", errPath = directory + "/run.err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath)), err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let end = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.05) }
        let timedOut = p.isRunning
        if timedOut { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        try out.close()
        try err.close()
        let o = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let e = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Result(status: timedOut ? -1 : p.terminationStatus, stdout: o, stderr: timedOut ? "timed out\n" + e : e)
    }

    /// A small ensemble artifact trained by `benn train SPEC -o NAME` on the 8x8 dataset.
    func trainArtifact(_ name: String = "x.benn", members: Int = 2) throws -> String {
        try writeDataset()
        let spec = directory + "/ens.yaml"
        try """
        model: tinymlp
        seed: 3
        data:
          directory: \(directory!)
        train:
          epochs: 1
          batch_size: 16
          learning_rate: 0.01
        ensemble:
          strategy: bagging
          members: \(members)
        """.write(toFile: spec, atomically: true, encoding: .utf8)
        let path = directory + "/" + name
        let r = try run(["train", spec, "--threads", "1", "-o", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return path
    }

    /// An artifact whose manifest says [4, 16, 1] images for a model built for [8, 8, 1]:
    /// refused at load by both commands (exit 1, one line), never a crash at the first image.
    func testManifestInputShapeDisagreeingWithTheModelIsRefused() throws {
        let good = try trainArtifact()
        var a = try EnsembleArtifact.read(from: good)
        XCTAssertEqual(a.manifest.input.shape, [8, 8, 1])
        a.manifest.input.shape = [4, 16, 1]
        let bad = directory + "/bad.benn"
        try a.write(to: bad)  // a valid file: the checksum covers the tensors, which are intact
        let message = "the manifest's input shape [4, 16, 1] disagrees with its model 'tinymlp', built for [8, 8, 1] inputs"

        let served = try run(["serve", bad, "--port", "0", "--threads", "1"], deadline: 60)
        XCTAssertEqual(served.status, 1, served.stdout + served.stderr)
        assertCleanFailure(served, mentions: "bad.benn: " + message)
        XCTAssertFalse(served.stdout.contains("listening"), served.stdout)

        // 4x16 images, the size the manifest advertises.
        var idx: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 16]
        idx += [UInt8](repeating: 200, count: 128)
        let images = directory + "/wide-images-idx3-ubyte"
        FileManager.default.createFile(atPath: images, contents: Data(idx))
        let predicted = try run(["predict", bad, images, "--threads", "1"], deadline: 60)
        XCTAssertEqual(predicted.status, 1, predicted.stdout + predicted.stderr)
        assertCleanFailure(predicted, mentions: message)

        // The untampered artifact classifies 8x8 images as before.
        let fine = try run(["predict", good, directory + "/t10k-images-idx3-ubyte", "--limit", "2", "--threads", "1"], deadline: 60)
        XCTAssertEqual(fine.status, 0, fine.stderr)
        XCTAssertEqual(fine.stdout.split(separator: "\n").count, 2, fine.stdout)
    }

    /// A manifest with a negative member weight is refused by `benn predict` (exit 1, one
    /// line naming the field and the value), never used for a prediction.
    func testPredictRefusesAManifestWithANegativeWeight() throws {
        let good = try trainArtifact()
        var a = try EnsembleArtifact.read(from: good)
        a.manifest.members[1].alpha = -5
        let bad = directory + "/negative.benn"
        try a.write(to: bad)
        let predicted = try run(["predict", bad, directory + "/t10k-images-idx3-ubyte", "--limit", "2", "--threads", "1"], deadline: 60)
        XCTAssertEqual(predicted.status, 1, predicted.stdout + predicted.stderr)
        assertCleanFailure(predicted, mentions: "negative.benn: manifest members[1].alpha (the member's weight) is -5; weights must be finite and non-negative")
        XCTAssertEqual(predicted.stdout, "")
    }

    /// `benn eval ARTIFACT` scales pixels with the manifest's input.scale and input.offset,
    /// as `benn predict` and `benn serve` do: with a manifest that flattens every image to
    /// one constant input, eval's ensemble accuracy is the accuracy of predict's classes.
    func testEvalUsesTheManifestScalingLikePredict() throws {
        let good = try trainArtifact()
        var a = try EnsembleArtifact.read(from: good)
        a.manifest.input.scale = 1e-12
        a.manifest.input.offset = 0.5
        let flat = directory + "/flat.benn"
        try a.write(to: flat)
        let report = directory + "/eval.json"
        let evaluated = try run(["eval", flat, "--data", directory, "--threads", "1", "--report", report], deadline: 120)
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        let test = try XCTUnwrap(json["test"] as? [String: Any])
        let prefixes = try XCTUnwrap(test["prefixAccuracies"] as? [Double])
        let m = a.manifest

        let predicted = try run(["predict", flat, directory + "/t10k-images-idx3-ubyte", "--threads", "1"], deadline: 120)
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        let labels = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/t10k-labels-idx1-ubyte"))).dropFirst(8).map(Int.init)
        let classes = predicted.stdout.split(separator: "\n").map { line in m.classNames.firstIndex(of: String(line.split(separator: "\t")[1]))! }
        XCTAssertEqual(classes.count, labels.count)
        let accuracy = Double(zip(classes, labels).filter { $0 == $1 }.count) / Double(labels.count)
        XCTAssertEqual(prefixes[m.bestPrefix - 1], accuracy, accuracy: 1e-9, "eval \(prefixes), predict \(classes)")

    }
}
