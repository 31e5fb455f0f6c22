import BennData
import BennNN
import BennTensor

/// A frozen teacher's softmax probabilities, one row per sample of the base image set.
///
/// Rows are computed the first time an epoch's view reaches a sample and reused after, so a
/// member trained on a fresh weighted resample each epoch (boosting) or on a bootstrap sample
/// runs the teacher over each distinct image once instead of once per epoch. The teacher is
/// evaluated in evaluation mode, so a row does not depend on which other images share its
/// batch.
struct TeacherTargets {
    let base: LabeledImages
    let classes: Int
    private var probabilities: [Float]
    private var known: [Bool]
    /// Rows computed so far (each distinct sample once).
    private(set) var computedRows = 0

    init(base: LabeledImages, classes: Int) {
        self.base = base
        self.classes = classes
        probabilities = [Float](repeating: 0, count: base.count * classes)
        known = [Bool](repeating: false, count: base.count)
    }

    /// Computes the rows of every sample of `view` not seen before.
    mutating func cover(_ view: DatasetView, teacher: Sequential) throws {
        var missing: [Int] = []
        for i in view.indices where !known[i] {
            known[i] = true
            missing.append(i)
        }
        guard !missing.isEmpty else { return }
        let fresh = try DatasetView(base: base, indices: missing)
        let rows = Loss.softmax(Tensor(shape: [missing.count, classes],
                                       storage: Evaluation.logits(teacher, on: fresh).logits))
        for (r, i) in missing.enumerated() {
            for j in 0..<classes { probabilities[i * classes + j] = rows[r * classes + j] }
        }
        computedRows += missing.count
    }

    /// The rows of base samples `indices`, in order, as an `indices.count x classes` tensor.
    func rows<C: Collection>(_ indices: C) -> Tensor where C.Element == Int {
        var out = Tensor(uninitializedShape: [indices.count, classes])
        for (r, i) in indices.enumerated() {
            precondition(known[i], "teacher row \(i) was never computed")
            for j in 0..<classes { out[r * classes + j] = probabilities[i * classes + j] }
        }
        return out
    }
}
