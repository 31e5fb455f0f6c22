import BennRandom

/// The mini-batches of one epoch over a `DatasetView`, built on access.
///
/// A random-access collection: `batches[i]` builds batch `i` (so batches can be prepared in
/// any order or in parallel), and the result of each is fixed by the epoch's order and seed.
/// Made by `DatasetView.batches(batchSize:shuffle:rng:dropLast:augmentations:)`.
public struct BatchSequence: RandomAccessCollection, Sendable {
    /// The view being batched.
    public let view: DatasetView
    /// The order of the epoch: positions in `view`, one per sample used.
    public let order: [Int]
    /// Samples per batch (the last batch may hold fewer unless `dropLast`).
    public let batchSize: Int
    /// Whether a final batch smaller than `batchSize` is left out.
    public let dropLast: Bool
    /// Augmentations applied to every sample.
    public let augmentations: [Augmentation]
    /// Seed material for augmentation draws; batch `i` draws from `augmentationRNG(i)`.
    public let augmentationSeed: UInt64

    public var startIndex: Int { 0 }
    public var endIndex: Int { dropLast ? order.count / batchSize : (order.count + batchSize - 1) / batchSize }

    /// Number of samples in batch `i`.
    public func sampleCount(ofBatch i: Int) -> Int {
        Swift.min(batchSize, order.count - i * batchSize)
    }

    /// The base-set indices of the samples in batch `i`.
    public func indices(ofBatch i: Int) -> [Int] {
        precondition(i >= startIndex && i < endIndex, "batch \(i) out of range 0..<\(endIndex)")
        let start = i * batchSize
        return order[start..<(start + sampleCount(ofBatch: i))].map { view.indices[$0] }
    }

    /// The generator for the augmentation draws of batch `i`.
    public func augmentationRNG(_ i: Int) -> SeededGenerator {
        SeededGenerator(seed: augmentationSeed).split(UInt64(i))
    }

    /// Builds batch `i`.
    public subscript(i: Int) -> Batch {
        precondition(i >= startIndex && i < endIndex, "batch \(i) out of range 0..<\(endIndex)")
        let n = sampleCount(ofBatch: i)
        let pixelsPerImage = view.base.pixelsPerImage
        var inputs = [Float](repeating: 0, count: n * pixelsPerImage)
        var labels = [Int32](repeating: 0, count: n)
        let indices = fill(batch: i, inputs: &inputs, labels: &labels)
        var weights: [Float]? = nil
        if let w = view.weights {
            let start = i * batchSize
            weights = order[start..<(start + n)].map { w[$0] }
        }
        return Batch(count: n, height: view.base.height, width: view.base.width, channels: view.base.channels,
                     inputs: inputs, labels: labels, weights: weights, indices: indices)
    }

    /// Fills caller-owned arrays with batch `i` (to reuse buffers across steps) and returns the
    /// batch's base indices. `inputs` must hold `sampleCount(ofBatch: i) * pixelsPerImage`
    /// floats and `labels` `sampleCount(ofBatch: i)` values, or more.
    @discardableResult
    public func fill(batch i: Int, inputs: inout [Float], labels: inout [Int32]) -> [Int] {
        let indices = indices(ofBatch: i)
        precondition(inputs.count >= indices.count * view.base.pixelsPerImage, "inputs buffer too small")
        precondition(labels.count >= indices.count, "labels buffer too small")
        inputs.withUnsafeMutableBufferPointer { buffer in
            fill(batch: i, indices: indices, inputs: buffer.baseAddress!)
        }
        let baseLabels = view.base.labels
        for (k, index) in indices.enumerated() { labels[k] = Int32(baseLabels[index]) }
        return indices
    }

    /// Writes the scaled, augmented inputs of batch `i` to `inputs`
    /// (room for `sampleCount(ofBatch: i) * pixelsPerImage` floats).
    public func fillInputs(batch i: Int, into inputs: UnsafeMutablePointer<Float>) {
        fill(batch: i, indices: indices(ofBatch: i), inputs: inputs)
    }

    private func fill(batch i: Int, indices: [Int], inputs: UnsafeMutablePointer<Float>) {
        if augmentations.isEmpty {
            view.base.fillInputs(indices: indices, into: inputs)
        } else {
            var rng = augmentationRNG(i)
            // Validated when the sequence was made.
            try! view.base.fillInputs(indices: indices, into: inputs, augmentations: augmentations, rng: &rng)
        }
    }
}

extension DatasetView {
    /// The mini-batches of one epoch.
    ///
    /// With `shuffle`, the epoch order is `rng.permutation(count)`; otherwise view order.
    /// Then one `rng.next()` is drawn (always, so that switching augmentation on or off
    /// leaves later epochs' order unchanged) to seed the augmentation draws.
    ///
    /// - Parameters:
    ///   - batchSize: samples per batch, at least 1.
    ///   - dropLast: leave out a final batch smaller than `batchSize`.
    ///   - augmentations: per-sample random changes, none by default.
    /// - Throws: `DatasetError.invalidBatchSize` if `batchSize <= 0`,
    ///   `.invalidAugmentation` for a bad augmentation parameter.
    public func batches(
        batchSize: Int, shuffle: Bool, rng: inout SeededGenerator, dropLast: Bool = false,
        augmentations: [Augmentation] = []
    ) throws -> BatchSequence {
        guard batchSize > 0 else { throw DatasetError.invalidBatchSize(batchSize) }
        try Augmentation.validate(augmentations)
        let order = shuffle ? rng.permutation(count) : Array(0..<count)
        let seed = rng.next()
        return BatchSequence(
            view: self, order: order, batchSize: batchSize, dropLast: dropLast,
            augmentations: augmentations, augmentationSeed: seed)
    }
}
