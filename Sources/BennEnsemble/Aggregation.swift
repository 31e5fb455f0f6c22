#if canImport(Glibc)
import Glibc
#endif
import BennTrain

/// Combines members' outputs into the ensemble's class scores.
public enum Aggregator {
    /// Scores [samples x classes] from each member's raw outputs (same layout) and the
    /// member weights. The ensemble's prediction is the argmax of each row (lowest class
    /// on ties, as in the BENN reference).
    public static func combine(_ outputs: [[Float]], weights: [Double], classes: Int,
                               rule: TrainingSpec.Aggregation) -> [Double] {
        precondition(outputs.count == weights.count, "one weight per member")
        guard let first = outputs.first else { return [] }
        let samples = first.count / classes
        var scores = [Double](repeating: 0, count: first.count)
        for (out, alpha) in zip(outputs, weights) {
            for s in 0..<samples {
                let row = s * classes
                switch rule {
                case .hard:
                    var best = 0
                    for c in 1..<classes where out[row + c] > out[row + best] { best = c }
                    scores[row + best] += alpha
                case .softLogits:
                    for c in 0..<classes { scores[row + c] += alpha * Double(out[row + c]) }
                case .softProbabilities:
                    var mx = out[row]
                    for c in 1..<classes { mx = max(mx, out[row + c]) }
                    var sum = 0.0
                    var p = [Double](repeating: 0, count: classes)
                    for c in 0..<classes { p[c] = exp(Double(out[row + c] - mx)); sum += p[c] }
                    for c in 0..<classes { scores[row + c] += alpha * p[c] / sum }
                }
            }
        }
        return scores
    }

    public static func predictions(_ scores: [Double], classes: Int) -> [Int] {
        (0..<(scores.count / classes)).map { s in
            var best = 0
            for c in 1..<classes where scores[s * classes + c] > scores[s * classes + best] { best = c }
            return best
        }
    }

    /// Accuracy of the ensemble made of the first k members, for k = 1...members.
    public static func prefixAccuracies(_ outputs: [[Float]], weights: [Double], labels: [Int], classes: Int,
                                        rule: TrainingSpec.Aggregation) -> [Double] {
        (1...max(1, outputs.count)).map { k in
            guard k <= outputs.count else { return 0 }
            let p = predictions(combine(Array(outputs[0..<k]), weights: Array(weights[0..<k]), classes: classes, rule: rule), classes: classes)
            return Double(zip(p, labels).filter { $0 == $1 }.count) / Double(max(1, labels.count))
        }
    }
}
