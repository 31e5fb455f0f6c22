import BennCore
import BennData
import BennInference
import BennNN
import BennTensor
import BennTrain
import Dispatch

/// Serving-time evaluation of an ensemble: every member compiled to the folded packed
/// inference network, members run in parallel across cores, outputs combined with the
/// ensemble's rule.
public final class EnsembleInference: @unchecked Sendable {
    public let members: [InferenceNetwork]
    public let weights: [Double]
    public let rule: TrainingSpec.Aggregation
    public let classes: Int

    public init(networks: [Sequential], weights: [Double], rule: TrainingSpec.Aggregation) throws {
        precondition(networks.count == weights.count, "one weight per member")
        members = try networks.map { try InferenceNetwork($0) }
        self.weights = weights
        self.rule = rule
        classes = networks.first?.description.classes ?? 0
    }

    /// Each member's raw outputs [n x classes] for the images `x`. With as many members as
    /// threads or more, members run concurrently on one thread each; otherwise one after
    /// another with the batch split across threads.
    public func memberOutputs(_ x: Tensor, threads: Int = Parallelism.threads) -> [[Float]] {
        var outputs = [[Float]](repeating: [], count: members.count)
        let parallelMembers = threads > 1 && members.count >= 2 && members.allSatisfy(\.isReentrant)
        if parallelMembers {
            outputs.withUnsafeMutableBufferPointer { buffer in
                let box = UnsafeSendableBox(buffer.baseAddress!)
                let members = self.members
                // Each member writes only its own slot.
                DispatchQueue.concurrentPerform(iterations: members.count) { m in
                    box.value[m] = members[m].predict(x, threads: 1).storage
                }
            }
        } else {
            for (m, net) in members.enumerated() { outputs[m] = net.predict(x, threads: threads).storage }
        }
        return outputs
    }

    /// Ensemble scores [n x classes] of the first `prefix` members (all by default).
    public func scores(_ x: Tensor, prefix: Int? = nil, threads: Int = Parallelism.threads) -> [Double] {
        let k = min(prefix ?? members.count, members.count)
        let outputs = Array(memberOutputs(x, threads: threads).prefix(k))
        return Aggregator.combine(outputs, weights: Array(weights.prefix(k)), classes: classes, rule: rule)
    }

    /// All images of a view as one input tensor (scaled as in training).
    public static func inputs(_ view: DatasetView) -> Tensor {
        let base = view.base
        var x = Tensor(uninitializedShape: [view.count, base.height, base.width, base.channels])
        x.withMutablePointer { base.fillInputs(indices: view.indices, into: $0) }
        return x
    }
}
