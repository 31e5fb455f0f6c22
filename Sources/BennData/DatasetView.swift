import BennRandom

/// A selection of samples of a `LabeledImages`: an index list into the base set (indices may
/// repeat, as in a bootstrap sample) and optional per-entry weights.
///
/// Views are cheap to copy: the base set's arrays are shared, not copied.
/// "Position" below means a place in this view's `indices` (0..<count); "index" means a
/// sample of the base set.
public struct DatasetView: Sendable, Equatable {
    /// The underlying images.
    public let base: LabeledImages
    /// The base-sample index of each entry of the view, in order.
    public let indices: [Int]
    /// One weight per entry (e.g. for weighted losses), or nil for unweighted.
    public let weights: [Float]?

    /// Number of entries in the view.
    public var count: Int { indices.count }

    /// A view of `indices` of `base` (any order, repeats allowed) with optional weights.
    ///
    /// - Throws: `DatasetError.indexOutOfRange` or `.weightCountMismatch`.
    public init(base: LabeledImages, indices: [Int], weights: [Float]? = nil) throws {
        if let bad = indices.first(where: { $0 < 0 || $0 >= base.count }) {
            throw DatasetError.indexOutOfRange(index: bad, count: base.count)
        }
        if let weights, weights.count != indices.count {
            throw DatasetError.weightCountMismatch(weights: weights.count, samples: indices.count)
        }
        self.base = base
        self.indices = indices
        self.weights = weights
    }

    /// For indices already known to be valid.
    init(unchecked base: LabeledImages, indices: [Int], weights: [Float]?) {
        self.base = base
        self.indices = indices
        self.weights = weights
    }

    // MARK: Constructors over a base set

    /// Every sample of `base` once, in order, unweighted.
    public static func all(_ base: LabeledImages) -> DatasetView {
        DatasetView(unchecked: base, indices: Array(0..<base.count), weights: nil)
    }

    /// The samples `indices` of `base` (repeats allowed), optionally weighted.
    public static func subset(_ base: LabeledImages, indices: [Int], weights: [Float]? = nil) throws -> DatasetView {
        try DatasetView(base: base, indices: indices, weights: weights)
    }

    /// `count` samples of `base` drawn uniformly with replacement; the draws are fixed by `seed`.
    public static func bootstrap(_ base: LabeledImages, count: Int, seed: UInt64) throws -> DatasetView {
        try all(base).bootstrap(count: count, seed: seed)
    }

    /// `count` samples of `base` drawn with replacement, sample `i` with probability
    /// `weights[i] / weights.sum()`.
    public static func weightedResample(
        _ base: LabeledImages, weights: [Double], count: Int, rng: inout SeededGenerator
    ) throws -> DatasetView {
        try all(base).weightedResample(weights: weights, count: count, rng: &rng)
    }

    // MARK: Derived views

    /// The entries at `positions` of this view (repeats allowed), keeping their weights.
    public func subset(positions: [Int]) throws -> DatasetView {
        if let bad = positions.first(where: { $0 < 0 || $0 >= count }) {
            throw DatasetError.indexOutOfRange(index: bad, count: count)
        }
        return DatasetView(
            unchecked: base, indices: positions.map { indices[$0] }, weights: weights.map { w in positions.map { w[$0] } })
    }

    /// This view with `weights` attached (one per entry), or removed when nil.
    public func withWeights(_ weights: [Float]?) throws -> DatasetView {
        try DatasetView(base: base, indices: indices, weights: weights)
    }

    /// A bootstrap sample: `count` entries of this view drawn uniformly with replacement
    /// (`SeededGenerator(seed: seed).nextInt(below: self.count)` per draw), keeping weights.
    ///
    /// - Throws: `DatasetError.invalidSampleCount` if `count < 0`, `.emptyDataset` if this
    ///   view is empty and `count > 0`.
    public func bootstrap(count drawCount: Int, seed: UInt64) throws -> DatasetView {
        var rng = SeededGenerator(seed: seed)
        return try bootstrap(count: drawCount, rng: &rng)
    }

    /// As `bootstrap(count:seed:)`, drawing from `rng`.
    public func bootstrap(count drawCount: Int, rng: inout SeededGenerator) throws -> DatasetView {
        guard drawCount >= 0 else { throw DatasetError.invalidSampleCount(drawCount) }
        guard count > 0 || drawCount == 0 else {
            throw DatasetError.emptyDataset("bootstrap of \(drawCount) samples from an empty view")
        }
        var positions = [Int](repeating: 0, count: drawCount)
        for i in 0..<drawCount { positions[i] = rng.nextInt(below: count) }
        return try subset(positions: positions)
    }

    /// `count` entries of this view drawn with replacement, entry `i` with probability
    /// `weights[i] / weights.sum()` (one `rng.nextDouble()` per draw, located by binary
    /// search in the cumulative sums). Zero-weight entries are never drawn. Keeps weights.
    ///
    /// - Throws: `DatasetError.weightCountMismatch` unless there is one weight per entry,
    ///   `.invalidWeights` for a negative or non-finite weight or an all-zero list,
    ///   `.invalidSampleCount` if `count < 0`.
    public func weightedResample(weights drawWeights: [Double], count drawCount: Int, rng: inout SeededGenerator) throws
        -> DatasetView
    {
        guard drawCount >= 0 else { throw DatasetError.invalidSampleCount(drawCount) }
        guard drawWeights.count == count else {
            throw DatasetError.weightCountMismatch(weights: drawWeights.count, samples: count)
        }
        var cumulative = [Double](repeating: 0, count: count)
        var total = 0.0
        var lastPositive = -1
        for (i, w) in drawWeights.enumerated() {
            guard w.isFinite, w >= 0 else {
                throw DatasetError.invalidWeights("weight \(w) at position \(i) is not a finite number >= 0")
            }
            total += w
            cumulative[i] = total
            if w > 0 { lastPositive = i }
        }
        guard total > 0, total.isFinite else {
            throw DatasetError.invalidWeights(total > 0 ? "the weights sum to infinity" : "all weights are zero")
        }
        var positions = [Int](repeating: 0, count: drawCount)
        for d in 0..<drawCount {
            let target = rng.nextDouble() * total
            // First position whose cumulative sum exceeds target: a zero-weight entry has the
            // same sum as the one before it, so it is never the first to exceed.
            var lo = 0, hi = count
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
            }
            positions[d] = lo < count ? lo : lastPositive  // lo == count only by rounding
        }
        return try subset(positions: positions)
    }

    /// Holds out `validationCount` entries chosen at random (fixed by `seed`: the first
    /// `validationCount` of `SeededGenerator(seed:).permutation(count)`) as a validation
    /// view; the rest form the training view. Both keep their entries in view order.
    ///
    /// - Throws: `DatasetError.validationCountOutOfRange` unless `0 <= validationCount < count`.
    public func split(validationCount: Int, seed: UInt64) throws -> (training: DatasetView, validation: DatasetView) {
        guard validationCount >= 0, validationCount < count else {
            throw DatasetError.validationCountOutOfRange(requested: validationCount, available: count)
        }
        var rng = SeededGenerator(seed: seed)
        let permutation = rng.permutation(count)
        let validation = permutation[..<validationCount].sorted()
        let training = permutation[validationCount...].sorted()
        return (try subset(positions: training), try subset(positions: validation))
    }

    /// The labels of the view's entries, in order.
    public var labels: [UInt8] { indices.map { base.labels[$0] } }
}
