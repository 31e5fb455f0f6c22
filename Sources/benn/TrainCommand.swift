import ArgumentParser
import BennBLAS
import BennBench
import BennCore
import BennData
import BennEnsemble
import BennKernels
import BennNN
import BennOptions
import BennTensor
import BennTrain
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one model in-process from a spec file or flags.",
        discussion: "Flags override the spec file. The trained model (a checkpoint that can also resume training) is written after every epoch.")

    @OptionGroup var specOptions: SpecOptions
    @Option(name: [.short, .long], help: "Where to write the trained model.") var output: String?
    @OptionGroup var reportOptions: ReportOptions
    var report: String? { reportOptions.report }
    @Option(help: "Resume from this checkpoint (written by an earlier run of the same spec).") var resume: String?

    func run() throws {
        try reportingErrors {
            let spec = try specOptions.makeSpec()
            if spec.ensemble.strategy != .single {
                guard resume == nil else { throw ValidationError("--resume applies to single-model runs; an ensemble run is resumed by the coordinator's journal") }
                return try EnsembleTraining.run(spec: spec, output: output, report: report)
            }
            let threads = try Runtime.configure(threads: spec.threads)
            let wallClock = Stopwatch()
            let datasets = try TrainingData.prepare(spec: spec).data
            let trainer = try Trainer(spec: spec, for: datasets.training.base)
            let out = output ?? "\(spec.model).ckpt"
            if let resume {
                do {
                    try trainer.resume(from: try Checkpoint.read(from: resume))
                } catch let error as SpecError where error.location == nil {
                    throw SpecError(location: resume, message: error.message)
                }
                Console.log("resumed from \(resume) after epoch \(trainer.completedEpochs)")
            }
            Console.log("training \(spec.model) (\(trainer.model.parameterCount) parameters) on \(datasets.training.count) samples, \(spec.train.epochs) epochs, batch \(spec.train.batchSize), seed \(spec.seed), \(threads) threads")
            Console.log("compute: BLAS kernel \(BLAS.coreName) [\(BLAS.coreChoice)], binary kernels \(BinaryKernels.active.rawValue)")
            let progress = Console.TrainingProgress()
            try trainer.fit(train: datasets.training, test: datasets.test, validation: datasets.validation,
                            progress: progress.handle,
                            afterEpoch: { t in try t.checkpoint().write(to: out) })
            let wall = wallClock.seconds
            let finalAccuracy = trainer.history.last?.testAccuracy ?? 0
            print("test accuracy: \(Console.percent(finalAccuracy))")
            Console.log("model written to \(out) (\(Console.fixed(wall, 1)) s)")
            if let report {
                try TrainingReport(trainer: trainer, wallSeconds: wall, datasetHash: datasets.training.base.contentHash, threads: threads)
                    .write(to: report)
                Console.log("report written to \(report)")
            }
        }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a trained model on a dataset split.")

    @Argument(help: "A model file written by `benn train`.") var modelPath: String
    @Option(help: "Directory with the IDX files (default: the one the model was trained on).") var data: String?
    @Option(help: "Split to evaluate: train or test.") var split: String = "test"
    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }
    @OptionGroup var reportOptions: ReportOptions
    var report: String? { reportOptions.report }

    func run() throws {
        try reportingErrors {
            guard let which = FashionMNIST.Split(rawValue: split) else {
                throw ValidationError("--split must be 'train' or 'test', got '\(split)'")
            }
            _ = try Runtime.configure(threads: threads)
            if let artifact = try? SafeTensors.read(from: modelPath), artifact.metadata["format"] == EnsembleArtifact.format {
                return try evalEnsemble(which)
            }
            let checkpoint = try Checkpoint.read(from: modelPath)
            let model = try checkpoint.makeModel()
            let directory = data ?? checkpoint.spec.data.directory
            let images = try TrainingData.load(directory: directory, split: which,
                                               format: checkpoint.spec.data.format, labels: checkpoint.spec.data.labels)
            let (accuracy, loss) = Evaluation.run(model, on: DatasetView.all(images))
            print("\(split) accuracy: \(Console.percent(accuracy)) (loss \(Console.fixed(Double(loss), 4)), \(images.count) samples, model \(checkpoint.model.name), \(checkpoint.completedEpochs) epochs)")
            if let report {
                let json: [String: Any] = ["model": checkpoint.model.name, "split": split, "accuracy": accuracy,
                                           "loss": loss, "samples": images.count, "dataset_hash": images.contentHash]
                try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
                    .write(to: URL(fileURLWithPath: report))
            }
        }
    }
}

extension Eval {
    func evalEnsemble(_ which: FashionMNIST.Split) throws {
        let a = try EnsembleArtifact.read(from: modelPath)
        let spec = a.manifest.provenance.spec
        let images = try TrainingData.load(directory: data ?? spec.data.directory, split: which,
                                           format: spec.data.format, labels: spec.data.labels)
        guard images.classNames.count == a.manifest.classNames.count else {
            throw ValidationError("the data has \(images.classNames.count) classes, the ensemble \(a.manifest.classNames.count)")
        }
        // The manifest's input shape and scaling, as `benn predict` and `benn serve` use them.
        let m = a.manifest
        guard images.imageShape == m.input.shape else {
            throw ValidationError("the data's images are \(images.imageShape), the artifact's manifest input.shape is \(m.input.shape)")
        }
        var x = Tensor(uninitializedShape: [images.count] + m.input.shape)
        let pixels = images.count * images.pixelsPerImage
        images.pixels.withUnsafeBufferPointer { bytes in
            x.withMutablePointer { p in
                for i in 0..<pixels { p[i] = Float(Double(bytes[i]) * m.input.scale + m.input.offset) }
            }
        }
        let inference = try EnsembleInference(networks: try a.networks(), weights: a.weights, rule: m.aggregation)
        let eval = EnsembleEvaluation.combining(inference.memberOutputs(x), weights: a.weights, labels: images.labels.map(Int.init),
                                                classes: m.classNames.count, rule: m.aggregation)
        EnsembleReport.printEvaluation(eval, bestPrefix: a.manifest.bestPrefix)
        if let report {
            try EnsembleReport(artifact: modelPath, manifest: a.manifest, run: a.run, test: eval).write(to: report)
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the compute paths and versions this machine runs.")
    func run() throws {
        for (k, v) in RuntimeInfo.versions.sorted(by: { $0.key < $1.key }) { print("\(k): \(v)") }
        print("binary kernel paths supported: \(BinaryKernels.supported.map(\.rawValue).joined(separator: ", "))")
        print("sha256: \(SHA256.Implementation.best == .hardware ? "SHA extensions" : "portable")")
        if let w = BinaryKernels.selectionWarning { print("warning: \(w)") }
    }
}

/// Process-wide set-up shared by commands that compute.
enum Runtime {
    struct ComputeError: Error, CustomStringConvertible { let description: String }

    /// Sets the thread count and checks that BLAS loaded and computes correctly.
    static func configure(threads requested: Int?) throws -> Int {
        if let problem = BLAS.selfTest() { throw ComputeError(description: problem) }
        if let warning = BinaryKernels.selectionWarning { Console.log("warning: \(warning)") }
        let n = requested ?? ProcessInfo.processInfo.activeProcessorCount
        Parallelism.threads = max(1, n)
        return Parallelism.threads
    }
}
