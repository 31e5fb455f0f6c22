import BennTensor

/// Losses over a batch of logits [batch, classes]. Each returns the mean loss and the
/// gradient with respect to the logits.
public enum Loss {
    /// Softmax cross-entropy with optional per-sample weights (boosting) and label
    /// smoothing. With weights the loss is Σ wᵢ·lᵢ / Σ wᵢ.
    public static func softmaxCrossEntropy(logits: Tensor, labels: [Int32], weights: [Float]? = nil,
                                           labelSmoothing: Float = 0) -> (loss: Float, gradient: Tensor) {
        let n = logits.rows, c = logits.rowSize
        precondition(labels.count == n, "\(labels.count) labels for \(n) rows")
        precondition(weights == nil || weights!.count == n, "weights count must match batch")
        var grad = Tensor(uninitializedShape: logits.shape)
        let totalWeight: Double = weights.map { $0.reduce(0.0) { $0 + Double($1) } } ?? Double(n)
        let norm = totalWeight > 0 ? Float(1 / totalWeight) : 0
        let off = labelSmoothing / Float(c), on = 1 - labelSmoothing + off
        var loss = 0.0
        logits.withPointer { z in
            grad.withMutablePointer { g in
                var p = [Float](repeating: 0, count: c)
                for i in 0..<n {
                    let row = z + i * c
                    var mx = row[0]
                    for j in 1..<c { mx = max(mx, row[j]) }
                    var sum: Float = 0
                    for j in 0..<c { p[j] = expf(row[j] - mx); sum += p[j] }
                    let logSum = logf(sum)
                    let w = weights?[i] ?? 1
                    var li: Float = 0
                    for j in 0..<c {
                        let target = j == Int(labels[i]) ? on : off
                        if target > 0 { li -= target * (row[j] - mx - logSum) }
                        g[i * c + j] = (p[j] / sum - target) * w * norm
                    }
                    loss += Double(li * w)
                }
            }
        }
        return (Float(loss * Double(norm)), grad)
    }

    /// KL(teacher ‖ student) with teacher probabilities given per row; the gradient of
    /// the mean over rows is (softmax(student) − teacher) / batch.
    public static func distillation(logits: Tensor, teacherProbabilities t: Tensor) -> (loss: Float, gradient: Tensor) {
        let n = logits.rows, c = logits.rowSize
        precondition(t.shape == logits.shape, "teacher \(t.shape) vs student \(logits.shape)")
        var grad = Tensor(uninitializedShape: logits.shape)
        var loss = 0.0
        logits.withPointer { z in
            t.withPointer { pt in
                grad.withMutablePointer { g in
                    for i in 0..<n {
                        let row = z + i * c
                        var mx = row[0]
                        for j in 1..<c { mx = max(mx, row[j]) }
                        var sum: Float = 0
                        for j in 0..<c { sum += expf(row[j] - mx) }
                        let logSum = logf(sum)
                        for j in 0..<c {
                            let q = pt[i * c + j]
                            let logP = row[j] - mx - logSum
                            if q > 0 { loss += Double(q * (logf(q) - logP)) }
                            g[i * c + j] = (expf(logP) - q) / Float(n)
                        }
                    }
                }
            }
        }
        return (Float(loss / Double(n)), grad)
    }

    /// Row-wise softmax.
    public static func softmax(_ logits: Tensor) -> Tensor {
        var out = Tensor(uninitializedShape: logits.shape)
        let n = logits.rows, c = logits.rowSize
        logits.withPointer { z in
            out.withMutablePointer { o in
                for i in 0..<n {
                    let row = z + i * c
                    var mx = row[0]
                    for j in 1..<c { mx = max(mx, row[j]) }
                    var sum: Float = 0
                    for j in 0..<c { o[i * c + j] = expf(row[j] - mx); sum += o[i * c + j] }
                    for j in 0..<c { o[i * c + j] /= sum }
                }
            }
        }
        return out
    }

    /// Index of the largest logit per row (first one on ties).
    public static func argmax(_ logits: Tensor) -> [Int32] {
        let n = logits.rows, c = logits.rowSize
        return logits.withPointer { z in
            (0..<n).map { i in
                var best = 0
                for j in 1..<c where z[i * c + j] > z[i * c + best] { best = j }
                return Int32(best)
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
