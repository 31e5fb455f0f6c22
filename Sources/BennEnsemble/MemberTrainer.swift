import BennCore
import BennData
import BennNN
import BennRandom
import BennTensor
import BennTrain

/// The data an ensemble trains on: the spec's training, validation and test views
/// (`TrainingData` in BennTrain; the name ensemble code has always used).
public typealias EnsembleData = TrainingData

/// Trains one ensemble member from its job. The same function runs in-process and on
/// cluster workers, which is what makes their members bit-identical.
public enum MemberTrainer {
    public static func train(_ job: MemberJob, data: EnsembleData, warmStart: [String: Tensor]? = nil,
                             progress: (ProgressEvent) -> Void = { _ in }) throws -> MemberResult {
        let watch = Stopwatch()
        var spec = job.memberSpec
        // A warm start that skips the first step keeps the binary weights it inherited.
        if warmStart != nil, spec.method.repeatFirstStep == false { spec.method.firstStepEpochs = 0 }
        let trainer = try Trainer(spec: spec, for: data.training.base)
        if let warmStart { try trainer.model.load(warmStart) }
        let view = data.training
        let fixed: DatasetView?
        switch job.sampling {
        case .full: fixed = view
        case let .bootstrap(seed): fixed = try view.bootstrap(count: view.count, seed: seed)
        case let .weightedLoss(weights):
            // Scale so the weights average 1: the loss is normalised per batch anyway.
            let mean = weights.reduce(0, +) / Double(max(1, weights.count))
            fixed = try view.withWeights(weights.map { Float($0 / mean) })
        case .resample: fixed = nil
        }
        try trainer.fit(epochData: { epoch in
            if let fixed { return fixed }
            guard case let .resample(weights, seed) = job.sampling else { return view }
            var rng = SeededGenerator(seed: seed).split(UInt64(epoch))
            return try view.weightedResample(weights: weights, count: view.count, rng: &rng)
        }, test: data.test, progress: progress)
        var misses: [Bool]? = nil
        if job.needsTrainingMisses {
            let (_, predictions, _) = Evaluation.logits(trainer.model, on: view)
            misses = zip(predictions, view.labels).map { Int($0) != Int($1) }
        }
        return MemberResult(member: job.member,
                            tensors: Dictionary(uniqueKeysWithValues: trainer.model.namedTensors.map { ($0.name, $0.tensor) }),
                            history: trainer.history, trainingMisses: misses,
                            seconds: watch.seconds)
    }
}
