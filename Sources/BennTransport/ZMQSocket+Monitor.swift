import CZMQ
import Synchronization

/// Connection events libzmq reports through a socket monitor (`zmq_socket_monitor`).
public struct ZMQMonitorEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let connected = ZMQMonitorEvents(rawValue: ZMQ_EVENT_CONNECTED)
    public static let disconnected = ZMQMonitorEvents(rawValue: ZMQ_EVENT_DISCONNECTED)
    /// The security handshake succeeded (CURVE keys accepted, ZAP allowed the peer).
    public static let handshakeSucceeded = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
    /// The peer rejected us during the handshake; the event's value is the ZAP status code
    /// (400 for a key not on the allow list).
    public static let handshakeFailedAuth = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    /// The handshake broke off with a protocol error, e.g. a CURVE client holding the wrong
    /// server key; the value is the `ZMQ_PROTOCOL_ERROR_*` code.
    public static let handshakeFailedProtocol = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
    /// The handshake failed for a reason libzmq does not classify (e.g. the peer vanished).
    public static let handshakeFailedOther = ZMQMonitorEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)

    public static let handshakeFailures: ZMQMonitorEvents = [.handshakeFailedAuth, .handshakeFailedProtocol, .handshakeFailedOther]
}

/// One event read from a ``ZMQSocketMonitor``.
public struct ZMQMonitorEvent: Sendable, Equatable {
    /// Exactly one of the ``ZMQMonitorEvents`` flags.
    public var event: ZMQMonitorEvents
    /// The event's number: a ZAP status code, protocol error code, file descriptor or
    /// reconnect interval, depending on the event.
    public var value: UInt32
    /// The endpoint the event concerns, e.g. `tcp://127.0.0.1:5555`.
    public var endpoint: String
}

/// Watches one socket's connection events on an inproc PAIR socket of its own.
///
/// libzmq reports handshake failures only here: a CURVE client whose key the server's ZAP
/// handler refuses otherwise just never gets an answer. Like sockets, a monitor belongs to
/// the thread that created it.
public final class ZMQSocketMonitor {
    /// The PAIR socket events arrive on; add it to a ``ZMQPoller`` to wait on it.
    public let socket: ZMQSocket
    private let watched: UnsafeMutableRawPointer

    /// Monitor addresses must be unique per context.
    private static let counter = Atomic<Int>(0)

    /// Starts monitoring `target` for `events`.
    public init(_ target: ZMQSocket, events: ZMQMonitorEvents) throws {
        let handle = try target.requireHandle("zmq_socket_monitor")
        let address = "inproc://benn-monitor-\(Self.counter.add(1, ordering: .relaxed).newValue)"
        guard zmq_socket_monitor(handle, address, events.rawValue) == 0 else {
            throw ZMQError.last("zmq_socket_monitor", endpoint: address)
        }
        watched = handle
        do {
            socket = try ZMQSocket(context: target.context, type: .pair)
            try socket.connect(address)
        } catch {
            zmq_socket_monitor(handle, nil, 0)
            throw error
        }
    }

    /// Stops the monitor; call before closing the watched socket.
    public func close() {
        guard !socket.isClosed else { return }
        zmq_socket_monitor(watched, nil, 0)
        socket.close()
    }

    /// The next event, or nil if none arrives within `timeoutMilliseconds` (0 polls).
    public func next(timeoutMilliseconds: Int = 0) throws -> ZMQMonitorEvent? {
        guard let frames = try socket.receive(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
        return Self.decode(frames)
    }

    /// Everything queued now, oldest first.
    public func drain() throws -> [ZMQMonitorEvent] {
        var events: [ZMQMonitorEvent] = []
        while let event = try next() { events.append(event) }
        return events
    }

    /// libzmq's (version 1) event message: a 6-byte frame (event number as UInt16, value as
    /// UInt32, in host byte order, little-endian on every platform benn builds for) followed by
    /// the endpoint.
    static func decode(_ frames: [[UInt8]]) -> ZMQMonitorEvent? {
        guard frames.count == 2, frames[0].count == 6 else { return nil }
        let bytes = frames[0]
        let number = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        let value = UInt32(bytes[2]) | UInt32(bytes[3]) << 8 | UInt32(bytes[4]) << 16 | UInt32(bytes[5]) << 24
        return ZMQMonitorEvent(event: ZMQMonitorEvents(rawValue: Int32(number)), value: value,
                               endpoint: String(decoding: frames[1], as: UTF8.self))
    }
}

/// Bound to its creating thread, like the sockets it holds.
@available(*, unavailable)
extension ZMQSocketMonitor: Sendable {}

/// The `ZMQ_PROTOCOL_ERROR_*` values a ``ZMQMonitorEvents/handshakeFailedProtocol`` event
/// carries that benn explains to users.
public enum ZMQProtocolError {
    /// The peers use different security mechanisms (e.g. CURVE against NULL).
    public static let mechanismMismatch = Int32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
    /// A CURVE box did not open: typically the client holds the wrong server key.
    public static let cryptographic = Int32(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
    public static let keyExchange = Int32(ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE)
}
