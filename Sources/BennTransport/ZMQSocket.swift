import CZMQ

/// One libzmq socket.
///
/// - Important: A socket must be used from one thread only (libzmq sockets are not
///   thread-safe). `ZMQSocket` is deliberately not `Sendable`: create it on the thread that
///   uses it, and talk to other threads through inproc sockets or Swift concurrency primitives.
///
/// New sockets get `ZMQ_LINGER = 0`, so closing never waits for undelivered messages; set a
/// positive linger with ``setLinger(milliseconds:)`` on sockets whose last messages must leave.
/// The socket keeps its ``context`` alive. It is closed by ``close()`` or when released.
public final class ZMQSocket {
    /// The context this socket belongs to.
    public let context: ZMQContext
    /// The socket pattern.
    public let type: ZMQSocketType
    private(set) var handle: UnsafeMutableRawPointer?

    /// Creates a socket of `type` on `context`.
    public init(context: ZMQContext, type: ZMQSocketType) throws {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError.last("zmq_socket")
        }
        self.context = context
        self.type = type
        self.handle = handle
        try setLinger(milliseconds: 0)
    }

    deinit { close() }

    /// Whether ``close()`` has been called.
    public var isClosed: Bool { handle == nil }

    /// Closes the socket (`zmq_close`). Further calls throw `ENOTSOCK`. Idempotent.
    public func close() {
        guard let handle else { return }
        zmq_close(handle)
        self.handle = nil
    }

    /// Binds to an endpoint, e.g. `"tcp://127.0.0.1:*"` (ephemeral port: read it back with
    /// ``lastEndpoint()``), `"ipc:///tmp/x"` or `"inproc://name"`.
    public func bind(_ endpoint: String) throws {
        let handle = try requireHandle("zmq_bind", endpoint)
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("zmq_bind", endpoint: endpoint) }
    }

    /// Stops accepting connections on a bound endpoint.
    public func unbind(_ endpoint: String) throws {
        let handle = try requireHandle("zmq_unbind", endpoint)
        guard zmq_unbind(handle, endpoint) == 0 else { throw ZMQError.last("zmq_unbind", endpoint: endpoint) }
    }

    /// Connects to an endpoint. libzmq connects (and reconnects) asynchronously; the call
    /// succeeds even when nothing listens there yet.
    public func connect(_ endpoint: String) throws {
        let handle = try requireHandle("zmq_connect", endpoint)
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_connect", endpoint: endpoint) }
    }

    /// Drops a connection made with ``connect(_:)``.
    public func disconnect(_ endpoint: String) throws {
        let handle = try requireHandle("zmq_disconnect", endpoint)
        guard zmq_disconnect(handle, endpoint) == 0 else {
            throw ZMQError.last("zmq_disconnect", endpoint: endpoint)
        }
    }

    func requireHandle(_ operation: String, _ endpoint: String? = nil) throws -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError(code: ENOTSOCK, operation: operation, endpoint: endpoint) }
        return handle
    }
}

/// Sockets are bound to one thread; see ``ZMQSocket``.
@available(*, unavailable)
extension ZMQSocket: Sendable {}
