import ArgumentParser
import BennBLAS
import BennData
import BennKernels
import BennNN
import BennOptions
import BennTrain
import Dispatch
import Foundation

/// Each benchmark model and its float twin trained with the standard recipe, side by side
/// (`benn bench training`).
///
/// The settings are the flags of `benn bench training`.
public struct TrainingBench: ParsableArguments {
    /// Comma-separated binary models, each with a float twin.
    @Option(help: "Comma-separated binary models to measure.") public var models: String = "bmlp,bcnn"
    @Option(name: .customLong("bmlp-epochs")) public var bmlpEpochs: Int = 10
    @Option(name: .customLong("bcnn-epochs")) public var bcnnEpochs: Int = 5
    /// Epochs of the float twins (nil: the binary model's).
    @Option(name: .customLong("float-epochs"), help: "Epochs for the float twins (default: same as the binary model).")
    public var floatEpochs: Int?
    @OptionGroup public var dataOptions: DataOptions
    /// `key=value` spec assignments applied to every model's spec after the bench's own settings.
    @OptionGroup public var setOptions: SetOptions

    public init() {}

    public struct Row: Codable {
        var model: String
        var epochs: Int
        var testAccuracy: Float
        var accuracyPerEpoch: [Float]
        var medianSamplesPerSecond: Double
        var samplesPerSecondPerEpoch: [Double]
        var wallSeconds: Double
    }

    public struct Report: Codable {
        var rows: [Row]
        var threads: Int
        var versions: [String: String]
    }

    /// The spec of one model: the standard recipe, the bench's data and epochs, then `assignments`.
    func spec(_ model: String, epochs: Int) throws -> TrainingSpec {
        var spec = TrainingSpec()
        spec.model = model
        dataOptions.applyBenchmarkData(to: &spec)
        spec.train.epochs = epochs
        return try SpecParser.override(spec, with: setOptions.assignments)
    }

    /// Trains every model and its twin on `threads` compute threads (already configured),
    /// printing the table; returns the figures.
    public func run(threads: Int) throws -> Report {
        var specs: [TrainingSpec] = []
        for binary in models.split(separator: ",").map(String.init) {
            guard binary.hasPrefix("b"), ModelZoo.names.contains(binary), ModelZoo.names.contains("f" + binary.dropFirst()) else {
                throw BenchError("--models takes binary benchmark models with a float twin (bmlp, bcnn), got '\(binary)'")
            }
            let epochs = binary == "bcnn" ? bcnnEpochs : bmlpEpochs
            specs.append(try spec(binary, epochs: epochs))
            specs.append(try spec("f" + binary.dropFirst(), epochs: floatEpochs ?? epochs))
        }
        var rows: [Row] = []
        Console.log("compute: BLAS kernel \(BLAS.coreName) [\(BLAS.coreChoice)], binary kernels \(BinaryKernels.active.rawValue), \(threads) threads")
        for spec in specs {
            let datasets = try TrainingData.prepare(spec: spec).data
            let trainer = try Trainer(spec: spec, for: datasets.training.base)
            let start = DispatchTime.now().uptimeNanoseconds
            let progress = Console.TrainingProgress()
            try trainer.fit(train: datasets.training, test: datasets.test, progress: progress.handle)
            let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let rates = trainer.history.map(\.samplesPerSecond)
            // The first epoch includes warm-up (page faults, BLAS buffers); the
            // median over epochs is the steady-state figure.
            let sorted = rates.sorted()
            rows.append(Row(model: spec.model, epochs: spec.train.epochs,
                            testAccuracy: trainer.history.last?.testAccuracy ?? 0,
                            accuracyPerEpoch: trainer.history.compactMap(\.testAccuracy),
                            medianSamplesPerSecond: sorted[sorted.count / 2],
                            samplesPerSecondPerEpoch: rates, wallSeconds: wall))
        }
        print("model  epochs  test accuracy  median samples/s  vs float twin")
        for row in rows {
            let twin = rows.first { $0.model == (row.model.hasPrefix("b") ? "f" + row.model.dropFirst() : row.model) }
            let ratio = twin.map { row.medianSamplesPerSecond / $0.medianSamplesPerSecond } ?? 1
            print("\(row.model.padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(row.epochs).leftPad(6))  \(Console.percent(row.testAccuracy).leftPad(13))  \(String(Int(row.medianSamplesPerSecond)).leftPad(16))  \(Console.fixed(ratio, 2).leftPad(12))x")
        }
        return Report(rows: rows, threads: threads, versions: RuntimeInfo.versions)
    }
}
