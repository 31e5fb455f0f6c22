import CZMQ

/// Owns one libzmq context (`zmq_ctx_new` ... `zmq_ctx_term`).
///
/// `@unchecked Sendable` because libzmq contexts are thread-safe: sockets may be created on a
/// context from any thread, and `zmq_ctx_shutdown` may be called from any thread. The Swift
/// object itself only stores the immutable handle.
///
/// Every ``ZMQSocket`` keeps its context alive, so the context is terminated (in `deinit`) only
/// after all its sockets are closed; termination therefore does not wait on open sockets.
/// The context is created with `ZMQ_BLOCKY = 0` so that termination never waits for unsent
/// messages of sockets whose linger was left at the libzmq default.
///
/// - Warning: Do not use a context across `fork()`; create it after spawning child processes.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// Creates a context.
    /// - Parameter ioThreads: libzmq I/O threads (`ZMQ_IO_THREADS`); 1 suffices below ~1 GB/s.
    public init(ioThreads: Int = 1) throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.handle = handle
        if zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(ioThreads)) != 0
            || zmq_ctx_set(handle, ZMQ_BLOCKY, 0) != 0 {
            let error = ZMQError.last("zmq_ctx_set")
            zmq_ctx_term(handle)
            throw error
        }
    }

    /// Raises the number of sockets the context may open (`ZMQ_MAX_SOCKETS`, default 1023);
    /// only effective before the first socket is created.
    public func setMaxSockets(_ count: Int) throws {
        if zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, Int32(count)) != 0 { throw ZMQError.last("zmq_ctx_set(ZMQ_MAX_SOCKETS)") }
    }

    /// Makes blocking calls on this context's sockets (in any thread) fail with `ETERM`.
    /// Sockets must still be closed; the context is terminated when the last reference goes.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    /// The libzmq library version, e.g. `(4, 3, 4)`.
    public static var version: (major: Int, minor: Int, patch: Int) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }

    /// Whether libzmq was built with a capability, e.g. `"curve"` or `"ipc"` (`zmq_has`).
    public static func has(_ capability: String) -> Bool {
        zmq_has(capability) != 0
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
