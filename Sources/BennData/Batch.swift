/// One mini-batch, ready for a model: scaled inputs, labels, optional weights, and which
/// base samples it holds.
public struct Batch: Sendable, Equatable {
    /// Number of samples in the batch.
    public var count: Int
    /// Image height.
    public var height: Int
    /// Image width.
    public var width: Int
    /// Channels per pixel (1 for grey images).
    public var channels: Int
    /// Inputs, NHWC (`count * height * width * channels`), each pixel `Float(x) / 127.5 - 1`.
    public var inputs: [Float]
    /// Class labels, one per sample.
    public var labels: [Int32]
    /// Per-sample weights from the view, or nil when the view is unweighted.
    public var weights: [Float]?
    /// The base-set index of each sample.
    public var indices: [Int]

    /// Makes a batch from its parts.
    public init(count: Int, height: Int, width: Int, channels: Int = 1,
                inputs: [Float], labels: [Int32], weights: [Float]?, indices: [Int]) {
        (self.count, self.height, self.width, self.channels, self.inputs, self.labels, self.weights, self.indices) =
            (count, height, width, channels, inputs, labels, weights, indices)
    }
}
