import XCTest
import Dispatch
import BennData
import BennEnsemble
import BennNN
import BennTensor
import BennTrain

final class ArtifactTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        Parallelism.threads = 2
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("artifact-\(getpid())-\(abs(name.hashValue))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func trained(_ strategy: TrainingSpec.Strategy = .boosting, model: String = "tinycnn") throws -> (TrainedEnsemble, EnsembleData) {
        var s = TrainingSpec()
        s.model = model
        s.seed = 9
        s.train.epochs = 1
        s.train.batchSize = 16
        s.train.learningRate = 0.01
        s.ensemble.strategy = strategy
        s.ensemble.members = 3
        let data = try EnsembleData.make(spec: s, trainImages: syntheticImages(count: 64, seed: 1), testImages: syntheticImages(count: 40, seed: 2))
        return (try EnsembleRunner.run(spec: s, data: data), data)
    }

    func write(_ e: TrainedEnsemble, _ name: String) throws -> String {
        let path = "\(directory!)/\(name)"
        try EnsembleArtifact(ensemble: e, classNames: (0..<10).map(String.init), datasetHash: "abc", bestPrefix: min(2, e.state.members.count),
                             environment: ["test": "yes"]).write(to: path)
        return path
    }

    func testRoundTripGivesIdenticalPredictions() throws {
        for model in ["tinycnn", "tinymlp"] {
            let (e, data) = try trained(.bagging, model: model)
            let path = try write(e, "\(model).benn")
            let loaded = try EnsembleArtifact.read(from: path)
            XCTAssertEqual(loaded.manifest.members.map(\.alpha), e.state.members.map(\.alpha))
            XCTAssertEqual(loaded.manifest.bestPrefix, 2)
            XCTAssertEqual(loaded.manifest.aggregation, .softLogits)
            let before = EnsembleEvaluation.run(try e.networks(), weights: e.state.members.map(\.alpha), rule: .softLogits, on: data.test!)
            let after = EnsembleEvaluation.run(try loaded.networks(), weights: loaded.weights, rule: .softLogits, on: data.test!)
            XCTAssertEqual(before.prefixAccuracies, after.prefixAccuracies)
            // Outputs are bit-identical: the binary layers only ever used the weights' signs.
            let x = try loaded.networks()[1].forward(Tensor(shape: [2, 8, 8, 1], repeating: 0.3), training: false)
            let y = try e.networks()[1].forward(Tensor(shape: [2, 8, 8, 1], repeating: 0.3), training: false)
            XCTAssertEqual(x, y)
        }
    }

    func testBinaryWeightsAreStoredAsBits() throws {
        let (e, _) = try trained(model: "tinymlp")
        let path = try write(e, "bits.benn")
        let file = try SafeTensors.read(from: path)
        XCTAssertEqual(file.entries["m0.l1.dense.weight.bits"]?.dtype, .u64)
        XCTAssertNil(file.entries["m0.l1.dense.weight"])
        XCTAssertEqual(file.entries["m0.l2.bn.gamma"]?.dtype, .f32)
    }

    func testSameSpecGivesByteIdenticalArtifactsApartFromRun() throws {
        let a = try write(try trained(model: "tinymlp").0, "a.benn"), b = try write(try trained(model: "tinymlp").0, "b.benn")
        var fa = try SafeTensors.read(from: a), fb = try SafeTensors.read(from: b)
        XCTAssertNotNil(fa.metadata["run"])
        fa.metadata["run"] = nil
        fb.metadata["run"] = nil
        XCTAssertEqual(fa.encoded(), fb.encoded())
    }

    /// A manifest inconsistent with itself or with the tensors is refused when read, the
    /// message naming the field and its value.
    func testInconsistentManifestsAreRefused() throws {
        let good = try write(try trained(.bagging, model: "tinymlp").0, "good.benn")
        let cases: [(String, (inout EnsembleArtifact) -> Void)] = [
            ("manifest members[1].alpha (the member's weight) is -5; weights must be finite and non-negative", { $0.manifest.members[1].alpha = -5 }),
            ("manifest members[2].member is 0, the same as members[0].member; member indices must be unique", { $0.manifest.members[2].member = 0 }),
            ("manifest classNames has 3 names, but its model 'tinymlp' has 10 classes", { $0.manifest.classNames = ["a", "b", "c"] }),
            ("manifest bestPrefix is 0; it must be within 1...3 (the number of members)", { $0.manifest.bestPrefix = 0 }),
            ("manifest bestPrefix is 4; it must be within 1...3 (the number of members)", { $0.manifest.bestPrefix = 4 }),
            ("manifest members is empty; an ensemble needs at least one member", { $0.manifest.members = [] }),
            ("manifest members[0..<2] (the best prefix) all have weight 0; at least one must be positive",
             { $0.manifest.members[0].alpha = 0; $0.manifest.members[1].alpha = 0 }),
            ("manifest input.scale is 0; it must be finite and non-zero", { $0.manifest.input.scale = 0 }),
            ("manifest input.shape is [8, 0, 1]; it must be [height, width, channels], each positive", { $0.manifest.input.shape = [8, 0, 1] }),
            ("manifest members[1].member is 1, but the file has no tensors of member 1 (no 'm1.*')", { $0.tensors[1] = nil }),
            ("belongs to member 2, which manifest members does not list (members are [0, 1])", { $0.manifest.members.removeLast() }),
        ]
        for (message, tamper) in cases {
            var a = try EnsembleArtifact.read(from: good)
            tamper(&a)
            let bad = "\(directory!)/bad.benn"
            try a.write(to: bad)
            XCTAssertThrowsError(try EnsembleArtifact.read(from: bad), message) {
                XCTAssertTrue("\($0)".hasPrefix(bad + ": "), "\($0)")
                XCTAssertTrue("\($0)".contains(message), "expected '\(message)', got '\($0)'")
            }
        }
        XCTAssertNoThrow(try EnsembleArtifact.read(from: good))
    }

    /// The bytes an older benn wrote: the same layout, `benn.checksum` (data section only)
    /// when `dataChecksum`, and no `benn.file_checksum`.
    func legacyEncoded(_ file: SafeTensors, dataChecksum: Bool) throws -> [UInt8] {
        var header: [String: Any] = [:], data: [UInt8] = []
        for name in file.entries.keys.sorted() {
            let e = file.entries[name]!
            header[name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [data.count, data.count + e.bytes.count]] as [String: Any]
            data += e.bytes
        }
        var meta = file.metadata
        if dataChecksum { meta[SafeTensors.checksumKey] = SafeTensors.checksum(data) }
        header["__metadata__"] = meta
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var n = UInt64(json.count).littleEndian
        return withUnsafeBytes(of: &n) { Array($0) } + json + data
    }

    /// The checksum covers the header: one flipped byte of the manifest is reported as
    /// corruption; a file with no checksum is refused; an older file (data checksum only) reads.
    func testChecksumCoversTheHeaderAndIsMandatory() throws {
        let path = try write(try trained(.bagging, model: "tinymlp").0, "h.benn")
        let good = [UInt8](FileManager.default.contents(atPath: path)!)
        let original = try EnsembleArtifact.read(from: path)

        // "datasetHash":"abc" inside the manifest's JSON string becomes "abb": still valid JSON.
        let needle = Array(#"datasetHash\":\"abc"#.utf8)
        let at = try XCTUnwrap((0...(good.count - needle.count)).first { Array(good[$0..<($0 + needle.count)]) == needle })
        var bad = good
        bad[at + needle.count - 1] ^= 1
        FileManager.default.createFile(atPath: path, contents: Data(bad))
        XCTAssertThrowsError(try EnsembleArtifact.read(from: path)) {
            XCTAssertTrue("\($0)".contains("benn.file_checksum mismatch"), "\($0)")
            XCTAssertTrue("\($0)".contains("the file (header or data) is corrupted"), "\($0)")
        }

        // The same manifest change under an old-style data-only checksum goes unnoticed, which
        // is why the new one exists; an old file is still read.
        var file = try SafeTensors.decode(good)
        XCTAssertEqual(file.verifiedChecksums, [SafeTensors.checksumKey, SafeTensors.fileChecksumKey])
        FileManager.default.createFile(atPath: path, contents: Data(try legacyEncoded(file, dataChecksum: true)))
        let old = try EnsembleArtifact.read(from: path)
        XCTAssertEqual(old.manifest, original.manifest)
        XCTAssertEqual(try SafeTensors.read(from: path).verifiedChecksums, [SafeTensors.checksumKey])

        // No checksum at all: refused for an artifact.
        FileManager.default.createFile(atPath: path, contents: Data(try legacyEncoded(file, dataChecksum: false)))
        XCTAssertThrowsError(try EnsembleArtifact.read(from: path)) {
            XCTAssertEqual("\($0)", "\(path): no benn.file_checksum (nor the older benn.checksum) in its metadata; an artifact must carry a checksum")
        }
        // requireChecksum still refuses it at the container level; new files satisfy it.
        XCTAssertThrowsError(try SafeTensors.decode(try legacyEncoded(file, dataChecksum: false), requireChecksum: true))
        XCTAssertNoThrow(try SafeTensors.decode(good, requireChecksum: true))

        // The stored value is FNV-1a 64 of the whole file with its 16 digits read as '0'.
        file.metadata["x"] = "y"
        let bytes = file.encoded()
        let key = Array(#""benn.file_checksum":""#.utf8)
        let k = try XCTUnwrap((0...(bytes.count - key.count)).first { Array(bytes[$0..<($0 + key.count)]) == key }) + key.count
        var zeroed = bytes
        zeroed.replaceSubrange(k..<(k + 16), with: Array("0000000000000000".utf8))
        XCTAssertEqual(String(decoding: bytes[k..<(k + 16)], as: UTF8.self), SafeTensors.checksum(zeroed))
    }

    func testCorruptTruncatedForeignAndWrongVersion() throws {
        let path = try write(try trained().0, "c.benn")
        let good = [UInt8](FileManager.default.contents(atPath: path)!)
        var bad = good
        bad[bad.count - 7] ^= 1
        FileManager.default.createFile(atPath: path, contents: Data(bad))
        XCTAssertThrowsError(try EnsembleArtifact.read(from: path)) { XCTAssertTrue("\($0)".contains("checksum mismatch"), "\($0)") }
        FileManager.default.createFile(atPath: path, contents: Data(good.prefix(good.count - 100)))
        XCTAssertThrowsError(try EnsembleArtifact.read(from: path)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
        FileManager.default.createFile(atPath: path, contents: Data("GIF89a not an artifact".utf8))
        XCTAssertThrowsError(try EnsembleArtifact.read(from: path)) { XCTAssertTrue("\($0)".contains("not a safetensors file"), "\($0)") }
        var file = try SafeTensors.decode(good)
        file.metadata["format_version"] = "7"
        try file.write(to: path)
        XCTAssertThrowsError(try EnsembleArtifact.read(from: path)) { XCTAssertTrue("\($0)".contains("version 7 is not supported"), "\($0)") }
    }
}

import Foundation

final class MethodArtifactTests: XCTestCase {
    /// Members trained with each method survive the artifact exactly, every binary weight as
    /// sign bits: bnn's own signs, sdbnn's those of its shifted weights, and the scaled
    /// methods' signs with their trained per-output scale.
    func testEveryMethodRoundTripsThroughTheArtifact() throws {
        Parallelism.threads = 2
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("methods-\(getpid()).benn").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var realEnds = MethodSpec(.reactnet)
        realEnds.realFirstLast = true
        for (model, method) in [("tinycnn", MethodSpec(.xnor)), ("tinyres", MethodSpec(.bireal)), ("tinyres", MethodSpec(.reactnet)),
                                ("tinycnn", MethodSpec(.sdbnn)), ("tinyres", MethodSpec(.bnn)), ("tinycnn", realEnds)] {
            let name = method.realFirstLast == true ? "\(method.name), real first and last" : "\(method.name)"
            var s = TrainingSpec()
            s.model = model
            s.method = method
            s.seed = 4
            s.train.epochs = 1
            s.train.batchSize = 16
            s.ensemble.strategy = .bagging
            s.ensemble.members = 2
            let data = try EnsembleData.make(spec: s, trainImages: syntheticImages(count: 48, seed: 1), testImages: syntheticImages(count: 20, seed: 2))
            let e = try EnsembleRunner.run(spec: s, data: data)
            try EnsembleArtifact(ensemble: e, classNames: (0..<10).map(String.init), datasetHash: "abc", bestPrefix: 2,
                                 environment: [:]).write(to: path)
            let loaded = try EnsembleArtifact.read(from: path)
            XCTAssertEqual(loaded.manifest.model, try s.modelDescription(inputShape: [8, 8, 1]), "\(model)/\(name)")
            // Every binary weight is stored as sign bits, a scaled one with its per-output scale.
            let stored = try SafeTensors.read(from: path).entries
            var binaryWeights = 0
            for layer in try Sequential(loaded.manifest.model, seed: 0).allLayers {
                let owned: (WeightQuantizer?, String, Int)? = (layer as? Conv2D).map { ($0.quantizer, $0.weight.name, $0.outChannels) }
                    ?? (layer as? Dense).map { ($0.quantizer, $0.weight.name, $0.outputs) }
                guard let (quantizer, weight, outputs) = owned, let q = quantizer else { continue }
                binaryWeights += 1
                XCTAssertEqual(stored["m0.\(weight).bits"]?.dtype, .u64, "\(model)/\(name) \(weight)")
                XCTAssertNil(stored["m0.\(weight)"], "\(model)/\(name) \(weight)")
                XCTAssertEqual(stored["m0.\(weight).scale"]?.shape, q.scale == .none ? nil : [outputs], "\(model)/\(name) \(weight)")
            }
            XCTAssertGreaterThan(binaryWeights, 0, "\(model)/\(name)")
            let x = Tensor(shape: [3, 8, 8, 1], storage: (0..<192).map { Float($0 % 17) / 8 - 1 })
            for (a, b) in zip(try loaded.networks(), try e.networks()) {
                XCTAssertEqual(a.forward(x, training: false), b.forward(x, training: false), "\(model)/\(name)")
            }
        }
    }
}

final class StandAloneMethodTests: XCTestCase {
    /// A one-job (strategy single) SD-BNN training through the member trainer (what a
    /// cluster worker runs) equals the plain trainer's run of the spec.
    func testSingleMemberEqualsPlainTraining() throws {
        Parallelism.threads = 1
        var s = TrainingSpec()
        s.model = "tinycnn"
        s.method = MethodSpec(.sdbnn)
        s.seed = 11
        s.train.epochs = 2
        s.train.batchSize = 16
        s.train.optimizer = .sgd
        s.train.learningRate = 0.01
        let train = try syntheticImages(count: 48, seed: 1), test = try syntheticImages(count: 20, seed: 2)
        let data = try EnsembleData.make(spec: s, trainImages: train, testImages: test)
        let state = EnsembleState(spec: s, trainingCount: data.training.count, classes: 10)
        let job = try XCTUnwrap(state.readyJobs().first)
        // On another thread, as a cluster worker runs it.
        nonisolated(unsafe) var result: MemberResult?
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { result = try? MemberTrainer.train(job, data: data); done.signal() }
        thread.start()
        done.wait()
        let member = try XCTUnwrap(result)
        let trainer = try Trainer(spec: s, inputShape: [8, 8, 1], classes: 10)
        try trainer.fit(train: data.training, test: data.test)
        for (name, t) in trainer.model.namedTensors {
            XCTAssertEqual(member.tensors[name], t, name)
        }
    }
}
