/// Carries a non-Sendable closure or pointer into `concurrentPerform`. Every use writes
/// disjoint memory per iteration, which is what makes this sound.
public struct UnsafeSendableBox<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
