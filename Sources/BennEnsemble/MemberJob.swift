import BennRandom
import BennTensor
import BennTrain

/// One unit of work: train member `member` of an ensemble. A job holds everything that
/// decides the member's result, so any worker trains the same member from it.
public struct MemberJob: Codable, Sendable, Equatable {
    /// Which samples the member trains on.
    public enum Sampling: Codable, Sendable, Equatable {
        /// The whole training set.
        case full
        /// A bootstrap sample (N draws with replacement) fixed by `seed`, reshuffled each epoch.
        case bootstrap(seed: UInt64)
        /// A fresh weighted resample of size N each epoch, drawn from `seed` split by epoch.
        case resample(weights: [Double], seed: UInt64)
        /// The whole training set with a per-sample weighted loss.
        case weightedLoss(weights: [Double])
    }

    public var member: Int
    /// The ensemble's spec; the member trains with `spec.train` and seed `memberSeed`.
    public var spec: TrainingSpec
    public var memberSeed: UInt64
    public var sampling: Sampling
    /// A finished member whose weights initialise this one (sequential start), if any.
    public var warmStartFrom: Int?
    /// Whether the result must include the member's misses on the whole training set.
    public var needsTrainingMisses: Bool

    /// The spec the member's own training runs with.
    public var memberSpec: TrainingSpec {
        var s = spec
        s.seed = memberSeed
        return s
    }

    /// Member 0 uses the ensemble's seed (so a one-member ensemble is the plain run of the
    /// spec); member m > 0 a seed drawn from the ensemble seed's sub-stream m.
    public static func seed(ofMember m: Int, ensembleSeed: UInt64) -> UInt64 {
        guard m > 0 else { return ensembleSeed }
        var g = SeededGenerator(seed: ensembleSeed).split(UInt64(m))
        return g.next()
    }
}

/// What training a member produced.
public struct MemberResult: Sendable {
    public var member: Int
    /// Every tensor of the trained model by name (parameters and batch-norm buffers).
    public var tensors: [String: Tensor]
    public var history: [EpochStats]
    /// For boosting: whether the member misclassifies each training sample (training-view order).
    public var trainingMisses: [Bool]?
    public var seconds: Double

    public init(member: Int, tensors: [String: Tensor], history: [EpochStats], trainingMisses: [Bool]?, seconds: Double) {
        self.member = member
        self.tensors = tensors
        self.history = history
        self.trainingMisses = trainingMisses
        self.seconds = seconds
    }
}
