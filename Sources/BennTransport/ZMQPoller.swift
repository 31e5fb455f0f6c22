import CZMQ

/// Readiness flags for ``ZMQPoller``.
public struct ZMQPollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// A message can be received without blocking (`ZMQ_POLLIN`).
    public static let readable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent without blocking (`ZMQ_POLLOUT`).
    public static let writable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// Waits on several sockets at once (`zmq_poll`).
///
/// Like its sockets, a poller belongs to one thread. It keeps the registered sockets alive;
/// polling a socket that was closed meanwhile throws `ENOTSOCK`.
public final class ZMQPoller {
    private var sockets: [ZMQSocket] = []
    private var interests: [ZMQPollEvents] = []

    public init() {}

    /// Registers a socket; returns its index in the results of ``poll(timeoutMilliseconds:)``.
    @discardableResult
    public func add(_ socket: ZMQSocket, events: ZMQPollEvents = .readable) -> Int {
        sockets.append(socket)
        interests.append(events)
        return sockets.count - 1
    }

    /// Changes the events watched for the socket at `index`.
    public func setEvents(_ events: ZMQPollEvents, at index: Int) {
        interests[index] = events
    }

    /// Number of registered sockets.
    public var count: Int { sockets.count }

    /// Waits until at least one socket is ready or the timeout passes.
    /// - Parameter timeoutMilliseconds: negative waits forever, 0 returns at once.
    /// - Returns: for each registered socket in order, the subset of its watched events that
    ///   is ready (all empty on timeout).
    public func poll(timeoutMilliseconds: Int) throws -> [ZMQPollEvents] {
        var items = try zip(sockets, interests).map { socket, events in
            zmq_pollitem_t(socket: try socket.requireHandle("zmq_poll"), fd: 0, events: events.rawValue, revents: 0)
        }
        while true {
            let rc = zmq_poll(&items, Int32(items.count), timeoutMilliseconds)
            if rc >= 0 { break }
            let code = zmq_errno()
            if code != EINTR { throw ZMQError(code: code, operation: "zmq_poll") }
        }
        return items.map { ZMQPollEvents(rawValue: $0.revents).intersection(ZMQPollEvents(rawValue: $0.events)) }
    }
}

@available(*, unavailable)
extension ZMQPoller: Sendable {}
