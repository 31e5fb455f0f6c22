import BennCore
import BennData
import BennNN
import BennRandom
import BennTensor

/// Figures for one finished epoch.
public struct EpochStats: Codable, Sendable, Equatable {
    public var epoch: Int
    public var loss: Float
    public var trainAccuracy: Float
    public var testAccuracy: Float?
    public var validationAccuracy: Float?
    public var samplesPerSecond: Double
    public var seconds: Double
    public var learningRate: Float
}

/// What a running training reports, for progress bars and logs.
public enum ProgressEvent: Sendable {
    case batch(epoch: Int, epochs: Int, batch: Int, batches: Int, loss: Float, accuracy: Float,
               samplesPerSecond: Double, secondsLeft: Double)
    case epoch(EpochStats, epochs: Int)
}

/// Trains one model in-process from a `TrainingSpec`.
///
/// The result depends only on the spec and the thread count: initial weights come from
/// `seed`, each epoch's shuffle from the stream `seed.split(epoch)`, and every reduction
/// is in a fixed order.
public final class Trainer {
    public let spec: TrainingSpec
    /// The spec's training recipe (teacher, real-valued epochs first), resolved.
    public let recipe: TrainingRecipe
    /// What each epoch does under `recipe`.
    public let recipeSchedule: RecipeSchedule
    public let model: Sequential
    public let optimizer: Optimizer
    /// Epochs already completed (non-zero after resuming from a checkpoint).
    public private(set) var completedEpochs = 0
    public private(set) var history: [EpochStats] = []
    /// ReActNet's frozen real-valued teacher (evaluation mode); the loss is the
    /// distributional loss against it when set. Prepared by `fit` when the method needs one
    /// and none was given.
    public var teacher: Sequential? {
        didSet { teacherTargets = nil }
    }
    private var teacherTargets: TeacherTargets?

    /// A trainer whose model is built for `images` (their size and class count).
    public convenience init(spec: TrainingSpec, for images: LabeledImages) throws {
        try self.init(spec: spec, inputShape: images.imageShape, classes: images.classCount)
    }

    public init(spec: TrainingSpec, inputShape: [Int] = [28, 28, 1], classes: Int = 10) throws {
        try spec.validate()
        self.spec = spec
        recipe = TrainingRecipe(spec)
        recipeSchedule = recipe.schedule
        let description = try ModelZoo.description(named: spec.model, method: spec.method,
                                                   inputShape: inputShape, classes: classes)
        model = try Sequential(description, seed: spec.seed)
        if let path = spec.method.initFrom {
            let twin = try FloatTwin.read(path: path, of: spec.model, inputShape: inputShape,
                                          classes: classes, role: "method_options.init_from")
            try FloatTwin.initialize(model, from: twin, twinPath: path)
        }
        switch spec.train.optimizer {
        case .adam:
            optimizer = Adam(learningRate: spec.train.learningRate, weightDecay: spec.train.weightDecay)
        case .sgd:
            optimizer = SGD(learningRate: spec.train.learningRate, momentum: spec.train.momentum,
                            weightDecay: spec.train.weightDecay, nesterov: spec.train.nesterov)
        }
    }

    /// Restores weights, optimizer state and progress from a checkpoint of the same spec.
    public func resume(from checkpoint: Checkpoint) throws {
        if let d = checkpoint.model.firstDifference(from: model.description) {
            throw SpecError(location: nil, message: "checkpoint holds a different model from the one the spec builds ('\(model.description.name)'): \(d.phrased(left: "checkpoint", right: "spec"))")
        }
        try model.load(checkpoint.tensors)
        try optimizer.loadState(checkpoint.optimizerState, for: model.parameters)
        completedEpochs = checkpoint.completedEpochs
        history = checkpoint.history
    }

    public func checkpoint() -> Checkpoint {
        Checkpoint(spec: spec, model: model.description, completedEpochs: completedEpochs, history: history,
                   tensors: Dictionary(uniqueKeysWithValues: model.namedTensors.map { ($0.name, $0.tensor) }),
                   optimizerState: Dictionary(uniqueKeysWithValues: optimizer.state(for: model.parameters).map { ($0.name, $0.tensor) }))
    }

    var augmentations: [Augmentation] {
        var a: [Augmentation] = []
        if spec.data.cropPadding > 0 { a.append(.randomCrop(padding: spec.data.cropPadding)) }
        if spec.data.flip { a.append(.horizontalFlip) }
        return a
    }

    func schedule(stepsPerEpoch: Int, epochs: Int) -> LearningRateSchedule {
        switch spec.train.schedule {
        case .constant: return .constant
        case .step: return .step(everySteps: spec.train.stepEpochs * stepsPerEpoch, factor: spec.train.stepFactor)
        case .cosine: return .cosine(totalSteps: epochs * stepsPerEpoch, floor: spec.train.minimumLearningRate)
        }
    }

    /// The learning rate for step `batch` of `epoch`: the schedule over the epochs the recipe
    /// schedule gives it (all of them, or with `restart_schedule` the current step's).
    func learningRate(epoch: Int, batch: Int, stepsPerEpoch: Int) -> Float {
        let span = recipeSchedule.epoch(epoch).learningRateEpochs
        return schedule(stepsPerEpoch: stepsPerEpoch, epochs: span.count)
            .rate(base: spec.train.learningRate, step: (epoch - span.lowerBound) * stepsPerEpoch + batch)
    }

    /// Trains the remaining epochs. `afterEpoch` runs after each epoch (checkpointing).
    public func fit(train: DatasetView, test: DatasetView? = nil, validation: DatasetView? = nil,
                    progress: (ProgressEvent) -> Void = { _ in },
                    afterEpoch: (Trainer) throws -> Void = { _ in }) throws {
        try fit(epochData: { _ in train }, test: test, validation: validation,
                progress: progress, afterEpoch: afterEpoch)
    }

    /// Epochs of the first step of a two-step recipe (real weights, binary activations); 0
    /// when the method has one step.
    public var firstStepEpochs: Int { recipe.firstStepEpochs }

    /// Epochs of Bi-Real's real-valued pre-training (real weights, clipped activations); 0
    /// without it. At least one epoch is always left for the binary network.
    public var pretrainEpochs: Int { recipe.pretrainEpochs }

    /// The distillation teacher (ReActNet, SD-BNN's ImageNet recipe): the float twin loaded
    /// from `method_options.teacher`, or trained first on `train` with the same recipe and
    /// seed (`teacher_epochs` epochs).
    public func prepareTeacher(train: DatasetView, progress: (ProgressEvent) -> Void = { _ in }) throws {
        guard let source = recipe.teacher, teacher == nil else { return }
        guard let twin = ModelZoo.floatTwin(of: spec.model) else {
            throw SpecError(location: nil, message: "model '\(spec.model)' has no float twin to distil from")
        }
        let shape = model.description.inputShape, classes = model.description.classes
        switch source {
        case let .train(epochs):
            var t = spec
            t.model = twin
            t.method = MethodSpec()
            t.train.epochs = epochs
            let trainer = try Trainer(spec: t, inputShape: shape, classes: classes)
            try trainer.fit(train: train, progress: progress)
            teacher = trainer.model
        case let .checkpoint(path):
            teacher = try FloatTwin.read(path: path, of: spec.model, inputShape: shape,
                                         classes: classes, role: "teacher")
        }
    }

    /// Trains the remaining epochs on the view `epochData(epoch)` gives for each epoch
    /// (boosting draws a fresh weighted resample per epoch).
    public func fit(epochData: (Int) throws -> DatasetView,
                    test: DatasetView? = nil, validation: DatasetView? = nil,
                    progress: (ProgressEvent) -> Void = { _ in },
                    afterEpoch: (Trainer) throws -> Void = { _ in }) throws {
        guard completedEpochs < spec.train.epochs else { return }
        let first = try epochData(completedEpochs)
        var pending: DatasetView? = first
        let shape = model.description.inputShape
        // Batches are filled image by image into buffers sized for the model's input.
        for (name, view) in [("training", Optional(first)), ("test", test), ("validation", validation)] {
            guard let view else { continue }
            let images = view.base.imageShape
            guard images == shape, view.base.classCount <= model.description.classes else {
                throw SpecError(location: nil, message: "the \(name) images are \(images.map(String.init).joined(separator: "x")) with \(view.base.classCount) classes, but model '\(spec.model)' was built for \(shape.map(String.init).joined(separator: "x")) with \(model.description.classes)")
            }
        }
        let pixels = shape.reduce(1, *)
        let root = SeededGenerator(seed: spec.seed)
        let epochs = spec.train.epochs
        let batchSize = spec.train.batchSize
        let stepsPerEpoch = (first.count + batchSize - 1) / batchSize
        if recipe.distills { try prepareTeacher(train: first) }
        var inputs = [Float](repeating: 0, count: batchSize * pixels)
        var labels = [Int32](repeating: 0, count: batchSize)
        // Kept after every step, so evaluation and checkpoints see the constrained weights too.
        let centersWeights = recipe.centersLatentWeights
        if centersWeights { model.centerBinaryConvolutionWeights() }
        while completedEpochs < epochs {
            let epoch = completedEpochs
            let train = try pending ?? epochData(epoch)
            pending = nil
            var rng = root.split(0x5348_5546 &+ UInt64(epoch))  // this epoch's shuffle stream
            model.setTrainingProgress(epoch: epoch, epochs: epochs)
            let plan = recipeSchedule.epoch(epoch)
            model.setWeightsBinarized(plan.binarizesWeights)
            model.setActivationsBinarized(plan.binarizesActivations)
            if plan.resetsOptimizer { optimizer.reset() }
            let batches = try train.batches(batchSize: batchSize, shuffle: true, rng: &rng, augmentations: augmentations)
            let watch = Stopwatch()
            // Without augmentation the teacher sees the same image whenever a sample comes back,
            // so its probabilities are computed once per distinct sample instead of per batch.
            if let teacher, augmentations.isEmpty {
                if teacherTargets?.base != train.base {
                    teacherTargets = TeacherTargets(base: train.base, classes: model.description.classes)
                }
                try teacherTargets!.cover(train, teacher: teacher)
            }
            var lossSum = 0.0, correct = 0, seen = 0
            for b in 0..<batches.count {
                let n = batches.sampleCount(ofBatch: b)
                batches.fill(batch: b, inputs: &inputs, labels: &labels)
                let x = Tensor(shape: [n] + shape, storage: Array(inputs[0..<(n * pixels)]))
                let y = Array(labels[0..<n])
                var weights: [Float]? = nil
                if let w = train.weights {
                    let first = b * batchSize
                    weights = batches.order[first..<(first + n)].map { w[$0] }
                }
                optimizer.learningRate = learningRate(epoch: epoch, batch: b, stepsPerEpoch: stepsPerEpoch)
                model.zeroGrad()
                let logits = model.forward(x, training: true)
                let (loss, grad): (Float, Tensor)
                if let teacher {
                    // The distributional loss (ReActNet's, and SD-BNN's ImageNet code's): the
                    // teacher's softmax as the target, no hard labels.
                    let target: Tensor
                    if let cached = teacherTargets {
                        let positions = batches.order[(b * batchSize)..<(b * batchSize + n)]
                        target = cached.rows(positions.lazy.map { train.indices[$0] })
                    } else {
                        target = Loss.softmax(teacher.forward(x, training: false))
                    }
                    (loss, grad) = Loss.distillation(logits: logits, teacherProbabilities: target)
                } else {
                    (loss, grad) = Loss.softmaxCrossEntropy(logits: logits, labels: y, weights: weights,
                                                            labelSmoothing: spec.train.labelSmoothing)
                }
                model.backward(grad)
                optimizer.step(model.parameters)
                if centersWeights { model.centerBinaryConvolutionWeights() }
                lossSum += Double(loss) * Double(n)
                correct += zip(Loss.argmax(logits), y).filter { $0 == $1 }.count
                seen += n
                let elapsed = watch.seconds
                let rate = Double(seen) / max(elapsed, 1e-9)
                let left = Double(train.count - seen) / rate + Double(epochs - epoch - 1) * Double(train.count) / rate
                progress(.batch(epoch: epoch + 1, epochs: epochs, batch: b + 1, batches: batches.count,
                                loss: Float(lossSum / Double(seen)), accuracy: Float(correct) / Float(seen),
                                samplesPerSecond: rate, secondsLeft: left))
            }
            let seconds = watch.seconds
            var stats = EpochStats(epoch: epoch + 1, loss: Float(lossSum / Double(max(1, seen))),
                                   trainAccuracy: Float(correct) / Float(max(1, seen)),
                                   testAccuracy: nil, validationAccuracy: nil,
                                   samplesPerSecond: Double(seen) / seconds, seconds: seconds,
                                   learningRate: optimizer.learningRate)
            if let test { stats.testAccuracy = evaluate(test).accuracy }
            if let validation, validation.count > 0 { stats.validationAccuracy = evaluate(validation).accuracy }
            completedEpochs += 1
            if completedEpochs == epochs {
                model.setWeightsBinarized(true)
                model.setActivationsBinarized(true)
            }
            history.append(stats)
            progress(.epoch(stats, epochs: epochs))
            try afterEpoch(self)
        }
    }

    /// Accuracy and mean loss of the model in evaluation mode.
    public func evaluate(_ view: DatasetView, batchSize: Int = 500) -> (accuracy: Float, loss: Float) {
        Evaluation.run(model, on: view, batchSize: batchSize)
    }
}

/// Evaluation of a model on a dataset view (no gradients, running batch-norm statistics).
public enum Evaluation {
    public static func run(_ model: Sequential, on view: DatasetView, batchSize: Int = 500) -> (accuracy: Float, loss: Float) {
        let (_, predictions, loss) = logits(model, on: view, batchSize: batchSize)
        let labels = view.labels
        let correct = zip(predictions, labels).filter { Int($0) == Int($1) }.count
        return (Float(correct) / Float(max(1, view.count)), loss)
    }

    /// Logits for every sample of `view`, in view order, plus predictions and mean loss.
    public static func logits(_ model: Sequential, on view: DatasetView, batchSize: Int = 500)
        -> (logits: [Float], predictions: [Int32], loss: Float) {
        let shape = model.description.inputShape
        let pixels = shape.reduce(1, *), classes = model.description.classes
        var rng = SeededGenerator(seed: 0)
        guard let batches = try? view.batches(batchSize: batchSize, shuffle: false, rng: &rng) else { return ([], [], 0) }
        var all = [Float](), predictions = [Int32]()
        all.reserveCapacity(view.count * classes)
        var lossSum = 0.0
        var inputs = [Float](repeating: 0, count: batchSize * pixels)
        var labels = [Int32](repeating: 0, count: batchSize)
        for b in 0..<batches.count {
            let n = batches.sampleCount(ofBatch: b)
            batches.fill(batch: b, inputs: &inputs, labels: &labels)
            let x = Tensor(shape: [n] + shape, storage: Array(inputs[0..<(n * pixels)]))
            let out = model.forward(x, training: false)
            lossSum += Double(Loss.softmaxCrossEntropy(logits: out, labels: Array(labels[0..<n])).loss) * Double(n)
            all += out.storage
            predictions += Loss.argmax(out)
        }
        return (all, predictions, Float(lossSum / Double(max(1, view.count))))
    }
}
