import CZMQ

/// An error reported by libzmq, with the `zmq_strerror` text and what was being done.
public struct ZMQError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `errno` value libzmq reported (for example `EAGAIN`, `EHOSTUNREACH`, `ETERM`).
    public let code: Int32
    /// `zmq_strerror(code)`.
    public let message: String
    /// The libzmq call or wrapper operation that failed, e.g. `"zmq_bind"`.
    public let operation: String
    /// The endpoint involved, when the operation had one.
    public let endpoint: String?

    /// Builds an error from an explicit code.
    public init(code: Int32, operation: String, endpoint: String? = nil) {
        self.code = code
        self.message = String(cString: zmq_strerror(code))
        self.operation = operation
        self.endpoint = endpoint
    }

    /// Builds an error from the calling thread's `zmq_errno()`. Call it right after the failing call.
    static func last(_ operation: String, endpoint: String? = nil) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation, endpoint: endpoint)
    }

    /// True when the peer named by a ROUTER envelope is unknown or gone (`EHOSTUNREACH`,
    /// only reported with ROUTER_MANDATORY set).
    public var isHostUnreachable: Bool { code == EHOSTUNREACH }

    /// True when the context was terminated or shut down while the call was in progress.
    public var isContextTerminated: Bool { code == ETERM }

    public var description: String {
        if let endpoint { return "\(operation) \(endpoint): \(message) (errno \(code))" }
        return "\(operation): \(message) (errno \(code))"
    }
}
