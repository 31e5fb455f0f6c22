/// A dense Float32 tensor: a shape and contiguous row-major storage.
///
/// Deliberately small: layers work on raw pointers for speed, and the tensor is the
/// unit they pass between each other, save in checkpoints and hand to optimizers.
/// Activations are NHWC (`[batch, height, width, channels]`) or `[batch, features]`.
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var storage: [Float]

    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.storage = [Float](repeating: value, count: shape.reduce(1, *))
    }

    public init(shape: [Int], storage: [Float]) {
        precondition(shape.reduce(1, *) == storage.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) values, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor whose storage is left to the caller to fill completely.
    public init(uninitializedShape shape: [Int]) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.storage = [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
    }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    /// Size of the leading (batch) dimension.
    public var rows: Int { shape.first ?? 1 }
    /// Elements per leading index.
    public var rowSize: Int { shape.count <= 1 ? 1 : shape.dropFirst().reduce(1, *) }
    /// Size of the trailing (channel) dimension.
    public var channels: Int { shape.last ?? 1 }

    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    public mutating func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == storage.count, "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    @inline(__always)
    public func withPointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    @inline(__always)
    public mutating func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }

    public subscript(i: Int) -> Float {
        get { storage[i] }
        set { storage[i] = newValue }
    }

    public mutating func fill(_ value: Float) {
        let n = count
        withMutablePointer { p in p.update(repeating: value, count: n) }
    }
}
