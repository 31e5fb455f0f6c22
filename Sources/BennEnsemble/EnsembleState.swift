import BennTrain

/// The progress of one ensemble: which members are done, their vote weights, the boosting
/// sample weights, and which jobs can run next. Codable so a coordinator can journal it.
///
/// Bagging members are independent (all ready at once) unless they warm-start from each
/// other; boosting member k depends on member k-1's result. Results are applied once:
/// a second result for a member is reported as a duplicate and ignored.
public struct EnsembleState: Codable, Sendable, Equatable {
    public struct Member: Codable, Sendable, Equatable {
        public var member: Int
        public var alpha: Double
        public var history: [EpochStats]
        public var trainingError: Double?
    }

    public enum Applied: Equatable, Sendable {
        case accepted
        case duplicate
        /// The member was dropped (boosting: no better than chance); no more members follow.
        case rejected(String)
    }

    public let spec: TrainingSpec
    /// Samples in the training view (after the validation hold-out).
    public let trainingCount: Int
    public let classes: Int
    public private(set) var members: [Member] = []
    public private(set) var boostingWeights: [Double]?
    /// Why no more members will be added, if the strategy stopped early.
    public private(set) var stopReason: String?
    /// Log lines about decisions (boosting rounds, early stops), for the user.
    public private(set) var events: [String] = []

    public init(spec: TrainingSpec, trainingCount: Int, classes: Int) {
        self.spec = spec
        self.trainingCount = trainingCount
        self.classes = classes
        if spec.ensemble.strategy == .boosting {
            boostingWeights = [Double](repeating: 1 / Double(trainingCount), count: trainingCount)
        }
    }

    public var target: Int { spec.ensemble.members }
    public var finished: Set<Int> { Set(members.map(\.member)) }
    public var isComplete: Bool { stopReason != nil || members.count >= target }

    /// Jobs whose dependencies are met and that are not finished or listed in `running`.
    public func readyJobs(running: Set<Int> = []) -> [MemberJob] {
        guard !isComplete else { return [] }
        let done = finished
        let strategy = spec.ensemble.strategy
        let sequential = spec.ensemble.start == .sequential
        var jobs: [MemberJob] = []
        for m in 0..<target where !done.contains(m) && !running.contains(m) {
            let dependsOnPrevious = strategy == .boosting || sequential
            if dependsOnPrevious && m > 0 && !done.contains(m - 1) { break }
            jobs.append(job(m))
            if dependsOnPrevious { break }
        }
        return jobs
    }

    public func job(_ m: Int) -> MemberJob {
        let seed = MemberJob.seed(ofMember: m, ensembleSeed: spec.seed)
        let sampling: MemberJob.Sampling
        switch spec.ensemble.strategy {
        case .single:
            sampling = .full
        case .bagging:
            sampling = .bootstrap(seed: seed ^ 0xB007_5742)
        case .boosting:
            let w = boostingWeights ?? []
            sampling = spec.ensemble.sampling == .resample ? .resample(weights: w, seed: seed ^ 0x5A3F_1E77) : .weightedLoss(weights: w)
        }
        return MemberJob(member: m, spec: spec, memberSeed: seed, sampling: sampling,
                         warmStartFrom: spec.ensemble.start == .sequential && m > 0 ? m - 1 : nil,
                         needsTrainingMisses: spec.ensemble.strategy == .boosting)
    }

    /// Records a member's result exactly once.
    public mutating func apply(_ result: MemberResult) -> Applied {
        if finished.contains(result.member) || isComplete { return .duplicate }
        switch spec.ensemble.strategy {
        case .single, .bagging:
            members.append(Member(member: result.member, alpha: 1, history: result.history, trainingError: nil))
            members.sort { $0.member < $1.member }
            return .accepted
        case .boosting:
            guard let misses = result.trainingMisses, misses.count == trainingCount, let weights = boostingWeights else {
                let reason = "member \(result.member) came without its training-set misses (\(result.trainingMisses?.count ?? 0) of \(trainingCount))"
                events.append(reason)
                return .rejected(reason)
            }
            let error = Boosting.weightedError(weights: weights, misses: misses)
            switch Boosting.round(rule: spec.ensemble.boostingRule, weights: weights, misses: misses, classes: classes) {
            case let .next(alpha, next):
                members.append(Member(member: result.member, alpha: alpha, history: result.history, trainingError: error))
                boostingWeights = next
                events.append("boosting: member \(result.member) weighted error \(Boosting.format(error)), alpha \(Boosting.format(alpha))")
                return .accepted
            case let .stopAfter(alpha, reason):
                members.append(Member(member: result.member, alpha: alpha, history: result.history, trainingError: error))
                stopReason = "boosting stopped after member \(result.member): \(reason)"
                events.append(stopReason!)
                return .accepted
            case let .reject(reason):
                stopReason = "boosting stopped: member \(result.member) dropped, \(reason)"
                events.append(stopReason!)
                return .rejected(reason)
            }
        }
    }
}
