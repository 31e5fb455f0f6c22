#if canImport(Glibc)
import Glibc
#endif
import BennTrain

/// The boosting arithmetic: a member's weighted error, its vote weight α, and the next
/// sample weights. Pure functions, so the coordinator and the in-process runner share them.
public enum Boosting {
    /// What to do after a member's error is known.
    public enum Outcome: Equatable, Sendable {
        /// Keep the member with weight `alpha`; train the next one on `weights`.
        case next(alpha: Double, weights: [Double])
        /// Keep the member with weight `alpha` and stop adding members (it is perfect on
        /// the training set, so the sample weights would be undefined).
        case stopAfter(alpha: Double, reason: String)
        /// Drop the member and stop: it is no better than chance.
        case reject(reason: String)
    }

    /// Σ wᵢ·missᵢ / Σ wᵢ.
    public static func weightedError(weights: [Double], misses: [Bool]) -> Double {
        precondition(weights.count == misses.count, "one miss flag per sample weight")
        var total = 0.0, missed = 0.0
        for (w, m) in zip(weights, misses) {
            total += w
            if m { missed += w }
        }
        return total > 0 ? missed / total : 0
    }

    /// The vote weight α of a member with weighted error ε (0 < ε < 1 − 1/C).
    public static func alpha(rule: TrainingSpec.BoostingRule, error e: Double, classes: Int) -> Double {
        let odds = log((1 - e) / e)
        switch rule {
        case .samme: return odds + log(Double(classes - 1))
        case .adaboost, .logistic, .mild: return 0.5 * odds
        case .sammeShrunk: return 0.1 * (odds + log(Double(classes - 1)))
        }
    }

    /// The largest α given to a member with zero training error (ε is clamped to this).
    public static let minimumError = 1e-10

    /// Applies one round: member error, α, and the next weights (normalised to sum to 1).
    public static func round(rule: TrainingSpec.BoostingRule, weights: [Double], misses: [Bool], classes: Int) -> Outcome {
        let e = weightedError(weights: weights, misses: misses)
        let chance = 1 - 1 / Double(classes)
        if e >= chance {
            return .reject(reason: "weighted error \(format(e)) is no better than chance (\(format(chance)) for \(classes) classes)")
        }
        if e <= 0 {
            return .stopAfter(alpha: alpha(rule: rule, error: minimumError, classes: classes),
                              reason: "the member makes no errors on the training set, so boosting has nothing left to reweight")
        }
        let a = alpha(rule: rule, error: e, classes: classes)
        var next = weights
        let n = Double(weights.count)
        switch rule {
        case .samme:
            // Canonical SAMME: only misclassified samples gain weight.
            for i in next.indices where misses[i] { next[i] *= exp(a) }
        case .adaboost, .sammeShrunk:
            for i in next.indices { next[i] *= exp(misses[i] ? a : -a) }
        case .logistic:
            for i in next.indices {
                let w = min(max(next[i], 1e-300), 1 - 1e-16)
                next[i] = 1 / (1 + (1 / w - 1) * exp(-(misses[i] ? a : -a)))
            }
        case .mild:
            var u = next.indices.map { (1 - next[$0]) * exp(-(misses[$0] ? a : -a)) }
            let sum = u.reduce(0) { $0 + abs($1) }
            for i in u.indices {
                u[i] = (n / Double(classes)) * u[i] / sum
                next[i] = max(0, 1 - u[i])
            }
        }
        let total = next.reduce(0, +)
        guard total > 0, total.isFinite else {
            return .stopAfter(alpha: a, reason: "sample weights degenerated (sum \(total)) after this member")
        }
        return .next(alpha: a, weights: next.map { $0 / total })
    }

    static func format(_ v: Double) -> String {
        let r = (v * 10000).rounded() / 10000
        return "\(r)"
    }
}
