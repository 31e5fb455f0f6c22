import Foundation

/// Results of work run side by side (`concurrentPerform`), one slot per part; the first
/// error is rethrown by `values()`.
public final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, any Error>?]
    public init(count: Int) { slots = Array(repeating: nil, count: count) }
    public func set(_ i: Int, _ body: () throws -> T) {
        let r = Result { try body() }
        lock.lock()
        slots[i] = r
        lock.unlock()
    }
    public func values() throws -> [T] {
        lock.lock()
        defer { lock.unlock() }
        return try slots.map { try $0!.get() }
    }
}
