import BennCore
import BennData
import BennEnsemble
import BennTensor
import BennTrain
import Dispatch
import Foundation

/// An ensemble artifact loaded for serving: its manifest, the packed inference of the
/// members used for predictions (the first `bestPrefix`), and one serial queue that every
/// inference call goes through.
///
/// `EnsembleInference` is not reentrant in general (layers without a folded form keep
/// state, and a call sets the process-wide thread counts), so calls never overlap; they
/// also run off Swift's cooperative thread pool, so a long batch does not stall request
/// handling.
public final class ServedModel: Sendable {
    /// The name clients use in `/v2/models/<name>`.
    public let name: String
    public let path: String
    public let manifest: EnsembleArtifact.Manifest
    /// Member weights of the members used (the first `bestPrefix`).
    public let weights: [Double]
    public let inference: EnsembleInference
    /// Compute threads per inference call.
    public let threads: Int
    /// Per-image input shape [height, width, channels].
    public var inputShape: [Int] { manifest.input.shape }
    public var pixelsPerImage: Int { manifest.input.shape.reduce(1, *) }
    public var classNames: [String] { manifest.classNames }
    public var members: Int { weights.count }

    private let queue = DispatchQueue(label: "benn.serve.inference", qos: .userInitiated)

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Loads `path` (an ensemble artifact). The model name defaults to the file name
    /// without its `.benn` extension.
    public convenience init(path: String, name: String? = nil, threads: Int) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw LoadError(description: "\(path): no such file")
        }
        let artifact: EnsembleArtifact
        do { artifact = try EnsembleArtifact.read(from: path) } catch let e as EnsembleArtifact.LoadError {
            throw LoadError(description: e.description)
        } catch {
            let text = "\(error)"
            throw LoadError(description: text.hasPrefix(path) ? text : "\(path): \(text)")
        }
        try self.init(artifact: artifact, path: path, name: name ?? ServedModel.defaultName(path), threads: threads)
    }

    public init(artifact: EnsembleArtifact, path: String, name: String, threads: Int) throws {
        let m = artifact.manifest
        guard !name.isEmpty, !name.contains("/") else { throw LoadError(description: "model name '\(name)' must be non-empty and contain no '/'") }
        // The checks `EnsembleArtifact.read` makes, for artifacts built in memory.
        if let problem = m.inputShapeProblem ?? m.problem { throw LoadError(description: "\(path): \(problem)") }
        let used = m.bestPrefix
        let networks = try { () throws(LoadError) in
            do { return Array(try artifact.networks().prefix(used)) } catch { throw LoadError(description: "\(path): \(error)") }
        }()
        self.name = name
        self.path = path
        manifest = m
        weights = Array(artifact.weights.prefix(used))
        do { inference = try EnsembleInference(networks: networks, weights: weights, rule: m.aggregation) } catch {
            throw LoadError(description: "\(path): cannot compile the members for inference (\(error))")
        }
        self.threads = max(1, threads)
    }

    static func defaultName(_ path: String) -> String {
        var base = (path as NSString).lastPathComponent
        if base.hasSuffix(".benn") { base = String(base.dropLast(5)) }
        return base.isEmpty ? "model" : base
    }

    /// The result of classifying a batch.
    public struct Prediction: Sendable, Equatable {
        public var count: Int
        public var classCount: Int
        /// The ensemble's class per image (argmax of `scores`, lowest index on ties).
        public var classes: [Int]
        /// The aggregation rule's scores, [count x classes] row-major.
        public var scores: [Double]
        /// The α-weighted mean of the members' softmax probabilities, [count x classes].
        public var probabilities: [Float]
        /// Each member's class per image, [count x members] row-major, when asked for.
        public var memberClasses: [Int]?
        /// Seconds spent computing (queue wait excluded).
        public var seconds: Double
    }

    /// Model inputs for `count` images of pixel values (byte · scale + offset), as `benn
    /// predict` computes them.
    public func modelInputs(pixels: [UInt8], count: Int) -> Tensor {
        var x = Tensor(uninitializedShape: [count] + inputShape)
        let scale = manifest.input.scale, offset = manifest.input.offset
        x.withMutablePointer { p in
            for i in 0..<(count * pixelsPerImage) { p[i] = Float(Double(pixels[i]) * scale + offset) }
        }
        return x
    }

    /// Classifies `x` ([count] + inputShape model inputs) on the calling thread. Callers
    /// must not overlap; the server goes through ``predict(_:perMember:)``.
    public func predictNow(_ x: Tensor, perMember: Bool) -> Prediction {
        let watch = Stopwatch()
        let n = x.shape[0]
        let c = manifest.classNames.count
        let outputs = inference.memberOutputs(x, threads: threads)
        let scores = Aggregator.combine(outputs, weights: weights, classes: c, rule: manifest.aggregation)
        let classes = Aggregator.predictions(scores, classes: c)
        let total = weights.reduce(0, +)
        let soft = Aggregator.combine(outputs, weights: weights, classes: c, rule: .softProbabilities)
        let probabilities = soft.map { Float(total > 0 ? $0 / total : $0) }
        var memberClasses: [Int]?
        if perMember {
            var mc = [Int](repeating: 0, count: n * outputs.count)
            for (m, out) in outputs.enumerated() {
                for i in 0..<n {
                    var best = 0
                    for k in 1..<c where out[i * c + k] > out[i * c + best] { best = k }
                    mc[i * outputs.count + m] = best
                }
            }
            memberClasses = mc
        }
        let seconds = watch.seconds
        return Prediction(count: n, classCount: c, classes: classes, scores: scores, probabilities: probabilities,
                          memberClasses: memberClasses, seconds: seconds)
    }

    /// Classifies `x` on the inference queue (one call at a time).
    public func predict(_ x: Tensor, perMember: Bool) async -> Prediction {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.predictNow(x, perMember: perMember)) }
        }
    }
}
