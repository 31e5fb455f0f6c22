import BennBLAS
import BennKernels
import Foundation

/// The JSON report of a training run (`--report FILE`).
public struct TrainingReport: Codable, Sendable {
    public var model: String
    public var parameterCount: Int
    public var seed: UInt64
    public var threads: Int
    public var epochs: [EpochStats]
    public var finalTestAccuracy: Float?
    /// Median over epochs of training samples per second.
    public var medianSamplesPerSecond: Double
    public var wallSeconds: Double
    public var datasetHash: String
    public var spec: TrainingSpec
    public var versions: [String: String]

    public init(trainer: Trainer, wallSeconds: Double, datasetHash: String, threads: Int) {
        model = trainer.spec.model
        parameterCount = trainer.model.parameterCount
        seed = trainer.spec.seed
        self.threads = threads
        epochs = trainer.history
        finalTestAccuracy = trainer.history.last?.testAccuracy
        let rates = trainer.history.map(\.samplesPerSecond).sorted()
        medianSamplesPerSecond = rates.isEmpty ? 0 : rates[rates.count / 2]
        self.wallSeconds = wallSeconds
        self.datasetHash = datasetHash
        spec = trainer.spec
        versions = RuntimeInfo.versions
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}

/// What is running: versions and the compute paths chosen at start-up.
public enum RuntimeInfo {
    public static var versions: [String: String] {
        ["benn": BennVersion.current, "blas": "\(BLAS.libraryPath) (\(BLAS.coreName))",
         "binary_kernels": BinaryKernels.active.rawValue, "cpu": CPUFeatures.current.modelName]
    }
}
