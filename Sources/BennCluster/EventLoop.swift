import BennTransport
import Foundation

/// The event loop's thread priority. The loop needs about 0.1 ms of CPU per result, but on
/// a machine whose cores are kept busy (workers training beside the coordinator) a woken
/// thread waits up to a scheduler slice, several milliseconds, before it runs. So the loop
/// thread asks for nice -5 where the process may raise its priority (root or
/// CAP_SYS_NICE) and keeps the normal priority otherwise; threads it starts (the dispatch
/// pool of the verifier, preparer, finisher and log queues) go back to nice 0.
enum EventLoopPriority {
    nonisolated(unsafe) static var raised = false

    static func raise(log: @Sendable (String) -> Void) {
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -5) == 0 {
            raised = true
            log("event loop thread at nice -5")
        }
    }

    /// Puts the calling background thread back to nice 0 if the loop raised its own.
    static func background() {
        if raised { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 0) }
    }

    /// CPU time of the calling thread so far (status is answered on the loop thread).
    static func threadCPUSeconds() -> Double {
        var cpu = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu)
        return Double(cpu.tv_sec) + Double(cpu.tv_nsec) / 1e9
    }
}

/// A thread-safe FIFO between the other threads and the event loop.
final class LockedQueue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func post(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
    func take() -> [T] { lock.lock(); defer { lock.unlock() }; let i = items; items = []; return i }
}

/// The event loop's inbox for the other threads.
final class EventSink: @unchecked Sendable {
    let events = LockedQueue<CoordinatorCompletion>()
    let waker: Waker
    init(waker: Waker) { self.waker = waker }
    func post(_ event: CoordinatorCompletion) {
        events.post(event)
        waker.wake()
    }
}

/// Wakes the event loop from other threads: one empty message on an in-process PAIR
/// socket (the lock keeps the socket to one thread at a time). Wake-ups beyond the
/// high-water mark are dropped; the loop drains all events on any wake-up.
final class Waker: @unchecked Sendable {
    private let lock = NSLock()
    private var socket: ZMQSocket?
    init(_ socket: ZMQSocket) { self.socket = socket }
    func wake() {
        lock.lock()
        defer { lock.unlock() }
        _ = try? socket?.send([[]], dontWait: true)
    }
    func close() {
        lock.lock()
        socket?.close()
        socket = nil
        lock.unlock()
    }
}
