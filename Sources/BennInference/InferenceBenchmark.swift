import BennBLAS
import BennKernels
import BennNN
import BennTensor

/// Measures inference throughput of compiled networks: folded binary models against their
/// Float32 twins (BLAS), at several batch sizes and thread counts, in one run.
public enum InferenceBenchmark {
    /// One measurement.
    public struct Result: Codable, Sendable, Equatable {
        /// Model name (`ModelZoo` name or the description's name).
        public var model: String
        /// Whether the compiled network runs on packed bits (false: float layers via BLAS).
        public var folded: Bool
        public var batch: Int
        public var threads: Int
        /// Median wall time of one `predict` call on `batch` images.
        public var secondsPerBatch: Double
        /// `batch / secondsPerBatch`.
        public var imagesPerSecond: Double
        /// `secondsPerBatch * 1000` (the latency of one call).
        public var millisecondsPerBatch: Double
    }

    /// A full run with the context needed to compare figures between machines.
    public struct Report: Codable, Sendable, Equatable {
        public var results: [Result]
        /// `BinaryKernels.active` at the time of the run.
        public var kernelPath: String
        /// The OpenBLAS kernel family in use.
        public var blasCore: String
        public var repetitions: Int
    }

    /// The folded binary benchmark models and their float twins.
    public static let defaultModels = ["bcnn", "fcnn", "bmlp", "fmlp"]

    /// Builds each `ModelZoo` model (seeded random initialisation; speed does not depend on
    /// the values), compiles it and times `predict` on seeded random images for every
    /// combination of `batches` and `threadCounts`. Each combination is warmed up once, then
    /// timed `repetitions` times; each repetition loops until it has run at least
    /// `minRepetitionSeconds` and records the time per call. Returns the medians.
    public static func run(models: [String] = defaultModels, batches: [Int] = [1, 256],
                           threadCounts: [Int] = [1, 2], repetitions: Int = 5,
                           minRepetitionSeconds: Double = 0.05, seed: UInt64 = 1) throws -> Report {
        precondition(repetitions >= 1)
        var results: [Result] = []
        for name in models {
            let model = try Sequential(ModelZoo.description(named: name), seed: seed)
            let net = try InferenceNetwork(model)
            results += measure(net, name: name, batches: batches, threadCounts: threadCounts,
                               repetitions: repetitions, minRepetitionSeconds: minRepetitionSeconds, seed: seed)
        }
        return Report(results: results, kernelPath: BinaryKernels.active.rawValue, blasCore: BLAS.coreName,
                      repetitions: repetitions)
    }

    /// Times an already compiled network (e.g. a trained checkpoint) the same way as
    /// ``run(models:batches:threadCounts:repetitions:minRepetitionSeconds:seed:)``.
    public static func measure(_ net: InferenceNetwork, name: String, batches: [Int] = [1, 256],
                               threadCounts: [Int] = [1, 2], repetitions: Int = 5,
                               minRepetitionSeconds: Double = 0.05, seed: UInt64 = 1) -> [Result] {
        var results: [Result] = []
        let perImage = net.inputShape.reduce(1, *)
        for batch in batches {
            var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
            var pixels = [Float](repeating: 0, count: batch * perImage)
            for i in pixels.indices {
                state ^= state >> 12; state ^= state << 25; state ^= state >> 27
                pixels[i] = Float((state &* 0x2545_F491_4F6C_DD1D) >> 56) / 127.5 - 1
            }
            let x = Tensor(shape: [batch] + net.inputShape, storage: pixels)
            for threads in threadCounts {
                let call = { _ = net.predict(x, threads: threads) }
                let median = KernelBenchmark.medianSeconds(of: call, repetitions: repetitions,
                                                           minRepetitionSeconds: minRepetitionSeconds)
                results.append(Result(model: name, folded: net.isFolded, batch: batch, threads: threads,
                                      secondsPerBatch: median, imagesPerSecond: Double(batch) / median,
                                      millisecondsPerBatch: median * 1000))
            }
        }
        return results
    }
}
