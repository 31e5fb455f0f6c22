import Foundation

/// Growable, 64-byte aligned scratch buffers owned by one worker at a time.
final class Workspace {
    private var buffers: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []

    /// Slot `slot`, at least `bytes` long. Contents are unspecified; growing discards them.
    func raw(_ slot: Int, bytes: Int) -> UnsafeMutableRawPointer {
        while buffers.count <= slot {
            buffers.append((UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64), 64))
        }
        if buffers[slot].bytes < bytes {
            buffers[slot].pointer.deallocate()
            let size = max(bytes, buffers[slot].bytes * 3 / 2)
            buffers[slot] = (UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64), size)
        }
        return buffers[slot].pointer
    }

    func floats(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        raw(slot, bytes: max(1, count) * 4).assumingMemoryBound(to: Float.self)
    }

    func words(_ slot: Int, count: Int) -> UnsafeMutablePointer<UInt64> {
        raw(slot, bytes: max(1, count) * 8).assumingMemoryBound(to: UInt64.self)
    }

    deinit { for b in buffers { b.pointer.deallocate() } }
}

/// A lock-protected pool of workspaces, so that concurrent `predict` calls each get their own.
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Workspace] = []

    func take(_ count: Int) -> [Workspace] {
        lock.lock(); defer { lock.unlock() }
        var out: [Workspace] = []
        while out.count < count { out.append(free.popLast() ?? Workspace()) }
        return out
    }

    func give(_ spaces: [Workspace]) {
        lock.lock(); defer { lock.unlock() }
        free += spaces
    }
}

/// Carries pointers and references into `DispatchQueue.concurrentPerform`; every use writes
/// disjoint memory per iteration.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
