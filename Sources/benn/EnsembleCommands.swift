import ArgumentParser
import BennBench
import BennCore
import BennData
import BennEnsemble
import BennNN
import BennOptions
import BennTensor
import BennTrain
import Foundation

/// Training an ensemble in-process (the `ensemble:` section of a spec) and the commands
/// that read the resulting artifact.
enum EnsembleTraining {
    static func run(spec: TrainingSpec, output: String?, report: String?) throws {
        let threads = try Runtime.configure(threads: spec.threads)
        let wallClock = Stopwatch()
        let (images, data) = try TrainingData.prepare(spec: spec)
        let e = spec.ensemble
        Console.log("training a \(e.strategy.rawValue) ensemble of \(e.members) \(spec.model) members on \(data.training.count) samples (\(threads) threads)")
        let progress = Console.TrainingProgress()
        let ensemble = try EnsembleRunner.run(spec: spec, data: data, log: Console.log, memberProgress: { _, event in progress.handle(event) })
        let assembly = try EnsembleArtifact.assemble(ensemble, classNames: images.train.classNames, datasetHash: images.train.contentHash,
                                                     validation: data.validation)
        let (artifact, networks, weights, best) = (assembly.artifact, assembly.networks, assembly.weights, assembly.bestPrefix)
        if !assembly.validationAccuracies.isEmpty {
            Console.log("validation accuracy by members: \(assembly.validationAccuracies.map { Console.percent(Float($0)) }.joined(separator: " ")); keeping the first \(best)")
        }
        let path = output ?? "\(spec.model)-\(e.strategy.rawValue)\(e.members).benn"
        try artifact.write(to: path)
        if let test = data.test {
            let eval = EnsembleEvaluation.run(networks, weights: weights, rule: e.aggregation, on: test)
            EnsembleReport.printEvaluation(eval, bestPrefix: best)
        }
        let wall = wallClock.seconds
        Console.log("ensemble written to \(path) (\(Console.fixed(wall, 1)) s)")
        if let report {
            let eval = data.test.map { EnsembleEvaluation.run(networks, weights: weights, rule: e.aggregation, on: $0) }
            try EnsembleReport(artifact: path, manifest: artifact.manifest, run: artifact.run, test: eval, wallSeconds: wall).write(to: report)
        }
    }
}

struct EnsembleReport: Codable {
    var artifact: String
    var manifest: EnsembleArtifact.Manifest
    var run: EnsembleArtifact.Run
    var test: EnsembleEvaluation?
    var wallSeconds: Double?

    func write(to path: String) throws {
        try writeJSONReport(self, to: path)
    }

    static func printEvaluation(_ eval: EnsembleEvaluation, bestPrefix: Int) {
        for (i, a) in eval.memberAccuracies.enumerated() {
            print("member \(i + 1): \(Console.percent(Float(a)))    ensemble of 1...\(i + 1): \(Console.percent(Float(eval.prefixAccuracies[i])))")
        }
        print("ensemble accuracy: \(Console.percent(Float(eval.prefixAccuracies[bestPrefix - 1]))) (\(bestPrefix) members, \(eval.samples) samples)")
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print an ensemble artifact's manifest and sizes.")
    @Argument(help: "An ensemble artifact (.benn).") var artifact: String
    @Flag(help: "Print the whole manifest as JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let a = try EnsembleArtifact.read(from: artifact)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(EnsembleReport(artifact: artifact, manifest: a.manifest, run: a.run)), as: UTF8.self))
                return
            }
            let m = a.manifest
            let size = (try? FileManager.default.attributesOfItem(atPath: artifact)[.size] as? Int) ?? 0
            print("artifact: \(artifact) (\(size) bytes, format \(m.format) v\(m.formatVersion))")
            print("model: \(m.model.name), input \(m.input.shape), \(m.classNames.count) classes: \(m.classNames.joined(separator: ", "))")
            print("ensemble: \(m.strategy.rawValue), \(m.members.count) members, aggregation \(m.aggregation.rawValue), predictions use the first \(m.bestPrefix)")
            for member in m.members {
                let acc = member.testAccuracyPerEpoch.last.map { " test acc \(Console.percent($0))" } ?? ""
                let err = member.trainingError.map { " training error \(Console.fixed($0, 4))" } ?? ""
                print("  member \(member.member): alpha \(Console.fixed(member.alpha, 4))\(err)\(acc), \(member.lossPerEpoch.count) epochs")
            }
            if let r = m.stopReason { print("stopped early: \(r)") }
            print("provenance: seed \(m.provenance.spec.seed), dataset \(m.provenance.datasetHash.prefix(16))..., benn \(m.provenance.bennVersion), created \(a.run.createdAt)")
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Classify images with an ensemble artifact.")
    @Argument(help: "An ensemble artifact (.benn).") var artifact: String
    @Argument(help: "An IDX image file (gzip or raw), e.g. t10k-images-idx3-ubyte.gz, or PNG images of the model's size.") var inputs: [String]
    @Option(help: "Classify only the first N images.") var limit: Int?
    @Flag(help: "Also print each member's prediction.") var members = false
    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }

    func run() throws {
        try reportingErrors {
            _ = try Runtime.configure(threads: threads)
            let a = try EnsembleArtifact.read(from: artifact)
            let m = a.manifest
            let (height, width) = (m.input.shape[0], m.input.shape[1])
            let pixels = m.input.shape.reduce(1, *)
            guard let first = inputs.first else { throw ValidationError("give an IDX image file or PNG images") }
            var bytes: [UInt8] = []
            var names: [String] = []
            if first.lowercased().hasSuffix(".png") {
                for path in inputs {
                    let png = try PNGImage.load(path: path)
                    guard png.width == width, png.height == height else {
                        throw ValidationError("\(path): image is \(png.width)x\(png.height), the model takes \(width)x\(height) grey images")
                    }
                    bytes += png.pixels
                    names.append(path)
                }
            } else {
                guard inputs.count == 1 else { throw ValidationError("give one IDX file, or PNG files") }
                let file = try IDXFile(path: first, expecting: .images)
                guard file.dims.count == 3, file.dims[1] == height, file.dims[2] == width else {
                    throw ValidationError("\(first): images are \(file.dims.dropFirst().map(String.init).joined(separator: "x")), the model takes \(height)x\(width)")
                }
                let n = min(file.dims[0], limit ?? Int.max)
                bytes = Array(file.bytes[0..<(n * pixels)])
                names = (0..<n).map(String.init)
            }
            let count = min(names.count, limit ?? Int.max)
            var x = Tensor(shape: [count] + m.input.shape)
            for i in 0..<(count * pixels) { x[i] = Float(Double(bytes[i]) * m.input.scale + m.input.offset) }
            let nets = Array(try a.networks().prefix(m.bestPrefix))
            let inference = try EnsembleInference(networks: nets, weights: Array(a.weights.prefix(m.bestPrefix)), rule: m.aggregation)
            let outputs = inference.memberOutputs(x)
            let classes = m.classNames.count
            let scores = Aggregator.combine(outputs, weights: Array(a.weights.prefix(m.bestPrefix)), classes: classes, rule: m.aggregation)
            let probabilities = Aggregator.combine(outputs, weights: Array(a.weights.prefix(m.bestPrefix)), classes: classes, rule: .softProbabilities)
            let total = a.weights.prefix(m.bestPrefix).reduce(0, +)
            for i in 0..<count {
                let row = Array(scores[(i * classes)..<((i + 1) * classes)])
                let best = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!
                let p = probabilities[i * classes + best] / total
                var line = "\(names[i])\t\(m.classNames[best])\t\(Console.fixed(p, 4))"
                if members {
                    line += "\t" + outputs.map { out in
                        let r = Array(out[(i * classes)..<((i + 1) * classes)])
                        return m.classNames[r.indices.max { r[$0] < r[$1] || (r[$0] == r[$1] && $0 > $1) }!]
                    }.joined(separator: ",")
                }
                print(line)
            }
        }
    }
}
