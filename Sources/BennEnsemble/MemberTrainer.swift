import BennCore
import BennData
import BennNN
import BennRandom
import BennTensor
import BennTrain

/// The data an ensemble trains on: the training view (after the validation hold-out),
/// the validation view (may be empty) and the test view.
public struct EnsembleData: Sendable {
    public var training: DatasetView
    public var validation: DatasetView?
    public var test: DatasetView?

    public init(training: DatasetView, validation: DatasetView?, test: DatasetView?) {
        self.training = training
        self.validation = validation
        self.test = test
    }

    /// The views a spec asks for, from loaded training and test images.
    /// - Throws: `SpecError` naming the keys when the spec leaves no training or test data.
    public static func make(spec: TrainingSpec, trainImages: LabeledImages, testImages: LabeledImages?) throws -> EnsembleData {
        _ = try spec.sampleCounts(trainingSamples: trainImages.count, testSamples: testImages?.count,
                                  imageSize: (trainImages.height, trainImages.width))
        var train = DatasetView.all(trainImages)
        if spec.data.limit > 0 && spec.data.limit < train.count {
            train = try DatasetView.subset(trainImages, indices: Array(0..<spec.data.limit))
        }
        var validation: DatasetView? = nil
        if spec.data.validation > 0 {
            let parts = try train.split(validationCount: spec.data.validation, seed: spec.seed)
            train = parts.training
            validation = parts.validation
        }
        var test = testImages.map { DatasetView.all($0) }
        if let t = testImages, spec.data.testLimit > 0 && spec.data.testLimit < t.count {
            test = try DatasetView.subset(t, indices: Array(0..<spec.data.testLimit))
        }
        return EnsembleData(training: train, validation: validation, test: test)
    }
}

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
