import BennData
import BennNN
import BennTensor
import BennTrain

/// A trained ensemble in memory: its state (members, weights) and each member's tensors.
public struct TrainedEnsemble: Sendable {
    public var state: EnsembleState
    public var model: ModelDescription
    public var tensors: [Int: [String: Tensor]]

    public init(state: EnsembleState, model: ModelDescription, tensors: [Int: [String: Tensor]]) {
        self.state = state
        self.model = model
        self.tensors = tensors
    }

    /// Builds each accepted member's network, in member order.
    public func networks() throws -> [Sequential] {
        try state.members.map { m in
            let net = try Sequential(model, seed: 0)
            guard let t = tensors[m.member] else { throw Sequential.InvalidModel(description: "member \(m.member) has no tensors") }
            try net.load(t)
            return net
        }
    }
}

/// Runs an ensemble plan in this process: the same jobs, in the same dependency order,
/// that a coordinator would dispatch to workers.
public enum EnsembleRunner {
    public static func run(spec: TrainingSpec, data: EnsembleData,
                           log: (String) -> Void = { _ in },
                           memberProgress: (Int, ProgressEvent) -> Void = { _, _ in }) throws -> TrainedEnsemble {
        let base = data.training.base
        var state = EnsembleState(spec: spec, trainingCount: data.training.count, classes: base.classCount)
        let model = try spec.modelDescription(inputShape: base.imageShape, classes: base.classCount)
        var tensors: [Int: [String: Tensor]] = [:]
        var loggedEvents = 0
        while true {
            let jobs = state.readyJobs()
            guard let job = jobs.first else { break }
            log("member \(job.member + 1)/\(spec.ensemble.members): training (\(describe(job.sampling)))")
            let warm = job.warmStartFrom.flatMap { tensors[$0] }
            let result = try MemberTrainer.train(job, data: data, warmStart: warm) { memberProgress(job.member, $0) }
            if case .accepted = state.apply(result) { tensors[job.member] = result.tensors }
            for e in state.events[loggedEvents...] { log(e) }
            loggedEvents = state.events.count
        }
        return TrainedEnsemble(state: state, model: model, tensors: tensors)
    }

    static func describe(_ s: MemberJob.Sampling) -> String {
        switch s {
        case .full: return "whole training set"
        case .bootstrap: return "bootstrap sample"
        case .resample: return "weighted resample per epoch"
        case .weightedLoss: return "weighted loss"
        }
    }
}

/// Accuracy of an ensemble's members, of the whole ensemble and of each prefix.
public struct EnsembleEvaluation: Codable, Sendable {
    /// The number of members to keep: the shortest prefix with the best validation
    /// accuracy (ensembles overfit as members are added), or all without a validation split.
    public static func bestPrefix(_ networks: [Sequential], weights: [Double], rule: TrainingSpec.Aggregation,
                                  validation: DatasetView?) -> (count: Int, accuracies: [Double]) {
        guard let validation, validation.count > 0, !networks.isEmpty else { return (networks.count, []) }
        let v = run(networks, weights: weights, rule: rule, on: validation)
        var best = 0
        for (i, a) in v.prefixAccuracies.enumerated() where a > v.prefixAccuracies[best] { best = i }
        return (best + 1, v.prefixAccuracies)
    }

    public var memberAccuracies: [Double]
    public var prefixAccuracies: [Double]
    public var ensembleAccuracy: Double
    public var samples: Int

    /// Evaluates every member on `view` (folded packed inference, members in parallel) and
    /// combines them with the ensemble's rule.
    public static func run(_ networks: [Sequential], weights: [Double], rule: TrainingSpec.Aggregation,
                           on view: DatasetView) -> EnsembleEvaluation {
        let classes = view.base.classCount
        let labels = view.labels.map(Int.init)
        let outputs: [[Float]]
        if let inference = try? EnsembleInference(networks: networks, weights: weights, rule: rule) {
            outputs = inference.memberOutputs(EnsembleInference.inputs(view))
        } else {
            outputs = networks.map { Evaluation.logits($0, on: view).logits }
        }
        return combining(outputs, weights: weights, labels: labels, classes: classes, rule: rule)
    }

    /// The figures for members' raw outputs already computed (one `[samples x classes]`
    /// array per member), so several rules can be scored without running the members again.
    public static func combining(_ outputs: [[Float]], weights: [Double], labels: [Int], classes: Int,
                                 rule: TrainingSpec.Aggregation) -> EnsembleEvaluation {
        let members = outputs.map { out -> Double in
            let p = Aggregator.predictions(out.map(Double.init), classes: classes)
            return Double(zip(p, labels).filter { $0 == $1 }.count) / Double(max(1, labels.count))
        }
        let prefixes = Aggregator.prefixAccuracies(outputs, weights: weights, labels: labels, classes: classes, rule: rule)
        return EnsembleEvaluation(memberAccuracies: members, prefixAccuracies: prefixes,
                                  ensembleAccuracy: prefixes.last ?? 0, samples: labels.count)
    }
}
