/// Invalid arguments to the data set API (sizes, counts, indices, weights, options).
///
/// These are thrown rather than trapped so that a bad job spec gives a message, not a crash.
public enum DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A batch size of zero or less.
    case invalidBatchSize(Int)
    /// A validation count outside `0..<available` (the training part must keep a sample).
    case validationCountOutOfRange(requested: Int, available: Int)
    /// A sample index outside `0..<count`.
    case indexOutOfRange(index: Int, count: Int)
    /// A negative number of samples to draw.
    case invalidSampleCount(Int)
    /// Samples requested from a view that has none.
    case emptyDataset(String)
    /// A weight list whose length does not match the samples it weights.
    case weightCountMismatch(weights: Int, samples: Int)
    /// Weights that are negative, not finite, or all zero.
    case invalidWeights(String)
    /// An augmentation with an impossible parameter.
    case invalidAugmentation(String)
    /// Arrays that do not describe a consistent set of labelled images.
    case inconsistentData(String)

    public var description: String {
        switch self {
        case .invalidBatchSize(let size):
            return "batch size must be at least 1, got \(size)"
        case .validationCountOutOfRange(let requested, let available):
            return "validation count \(requested) is out of range: it must be in 0..<\(available) "
                + "(the data has \(available) samples and the training part must keep at least one)"
        case .indexOutOfRange(let index, let count):
            return "sample index \(index) is out of range 0..<\(count)"
        case .invalidSampleCount(let count):
            return "the number of samples to draw must be 0 or more, got \(count)"
        case .emptyDataset(let what):
            return "cannot draw samples: \(what)"
        case .weightCountMismatch(let weights, let samples):
            return "got \(weights) weights for \(samples) samples; there must be one weight per sample"
        case .invalidWeights(let reason):
            return "invalid sample weights: \(reason)"
        case .invalidAugmentation(let reason):
            return "invalid augmentation: \(reason)"
        case .inconsistentData(let reason):
            return "inconsistent image data: \(reason)"
        }
    }
}
