import CZMQ

/// TCP keepalive settings (`ZMQ_TCP_KEEPALIVE*`); nil fields keep the OS defaults.
public struct TCPKeepalive: Sendable, Equatable {
    public var enabled: Bool
    public var idleSeconds: Int?
    public var intervalSeconds: Int?
    public var count: Int?

    public init(enabled: Bool, idleSeconds: Int? = nil, intervalSeconds: Int? = nil, count: Int? = nil) {
        self.enabled = enabled
        self.idleSeconds = idleSeconds
        self.intervalSeconds = intervalSeconds
        self.count = count
    }
}

/// Socket options. Unless noted, set them before ``ZMQSocket/bind(_:)`` or
/// ``ZMQSocket/connect(_:)``: libzmq applies most options to connections made afterwards.
extension ZMQSocket {
    /// How long ``close()`` keeps undelivered messages (`ZMQ_LINGER`); -1 forever.
    /// New sockets of this wrapper start at 0.
    public func setLinger(milliseconds: Int) throws {
        try setOption(ZMQ_LINGER, Int32(clamping: milliseconds), "ZMQ_LINGER")
    }

    /// Outgoing queue limit in messages per peer (`ZMQ_SNDHWM`; libzmq default 1000, 0 = none).
    public func setSendHighWaterMark(_ messages: Int) throws {
        try setOption(ZMQ_SNDHWM, Int32(clamping: messages), "ZMQ_SNDHWM")
    }

    /// Incoming queue limit in messages per peer (`ZMQ_RCVHWM`; libzmq default 1000, 0 = none).
    public func setReceiveHighWaterMark(_ messages: Int) throws {
        try setOption(ZMQ_RCVHWM, Int32(clamping: messages), "ZMQ_RCVHWM")
    }

    /// Largest inbound **frame** accepted, in bytes (`ZMQ_MAXMSGSIZE`; -1 = unlimited, the
    /// libzmq default). A peer sending a larger frame is disconnected and the message dropped;
    /// it may reconnect. libzmq checks each frame, not the sum of a multipart message.
    /// Keep it well above a few hundred bytes: tiny limits break the CURVE handshake.
    public func setMaxMessageSize(_ bytes: Int64) throws {
        try setOption64(ZMQ_MAXMSGSIZE, bytes, "ZMQ_MAXMSGSIZE")
    }

    /// The routing id this socket announces to ROUTER peers (`ZMQ_ROUTING_ID`, 1...255 bytes,
    /// must not start with a zero byte).
    public func setRoutingID(_ id: [UInt8]) throws {
        try setOption(ZMQ_ROUTING_ID, bytes: id, "ZMQ_ROUTING_ID")
    }

    /// This socket's routing id (empty when none was set).
    public func routingID() throws -> [UInt8] {
        try bytesOption(ZMQ_ROUTING_ID, capacity: 256, "ZMQ_ROUTING_ID")
    }

    /// ROUTER only: report unroutable messages as `EHOSTUNREACH` instead of silently
    /// dropping them (`ZMQ_ROUTER_MANDATORY`). With it, a send to a peer whose queue is full
    /// blocks, or returns false when `dontWait` is set.
    public func setRouterMandatory(_ on: Bool) throws {
        try setOption(ZMQ_ROUTER_MANDATORY, on ? 1 : 0, "ZMQ_ROUTER_MANDATORY")
    }

    /// ZMTP PING/PONG heartbeats (`ZMQ_HEARTBEAT_IVL`, `_TIMEOUT`, `_TTL`; all off by default).
    /// A connection with no traffic for `timeoutMilliseconds` after a PING is closed.
    /// - Parameters:
    ///   - intervalMilliseconds: time between PINGs; 0 disables heartbeats.
    ///   - timeoutMilliseconds: wait for traffic after a PING (0 = the interval).
    ///   - ttlMilliseconds: asks the peer to drop the connection after this long without
    ///     traffic (rounded to 100 ms; 0 = none).
    public func setHeartbeat(intervalMilliseconds: Int, timeoutMilliseconds: Int = 0, ttlMilliseconds: Int = 0) throws {
        try setOption(ZMQ_HEARTBEAT_IVL, Int32(clamping: intervalMilliseconds), "ZMQ_HEARTBEAT_IVL")
        try setOption(ZMQ_HEARTBEAT_TIMEOUT, Int32(clamping: timeoutMilliseconds), "ZMQ_HEARTBEAT_TIMEOUT")
        try setOption(ZMQ_HEARTBEAT_TTL, Int32(clamping: ttlMilliseconds), "ZMQ_HEARTBEAT_TTL")
    }

    /// Reconnect back-off (`ZMQ_RECONNECT_IVL`, default 100 ms; `ZMQ_RECONNECT_IVL_MAX`,
    /// default 0 = no exponential back-off; when larger than the interval the delay doubles
    /// up to it).
    public func setReconnectInterval(milliseconds: Int, maxMilliseconds: Int = 0) throws {
        try setOption(ZMQ_RECONNECT_IVL, Int32(clamping: milliseconds), "ZMQ_RECONNECT_IVL")
        try setOption(ZMQ_RECONNECT_IVL_MAX, Int32(clamping: maxMilliseconds), "ZMQ_RECONNECT_IVL_MAX")
    }

    /// Queue messages only on completed connections (`ZMQ_IMMEDIATE`). With it, a DEALER
    /// that has no live peer refuses a non-blocking send instead of queueing it.
    public func setImmediate(_ on: Bool) throws {
        try setOption(ZMQ_IMMEDIATE, on ? 1 : 0, "ZMQ_IMMEDIATE")
    }

    /// OS-level TCP keepalive on this socket's TCP connections.
    public func setTCPKeepalive(_ keepalive: TCPKeepalive) throws {
        try setOption(ZMQ_TCP_KEEPALIVE, keepalive.enabled ? 1 : 0, "ZMQ_TCP_KEEPALIVE")
        if let idle = keepalive.idleSeconds {
            try setOption(ZMQ_TCP_KEEPALIVE_IDLE, Int32(clamping: idle), "ZMQ_TCP_KEEPALIVE_IDLE")
        }
        if let interval = keepalive.intervalSeconds {
            try setOption(ZMQ_TCP_KEEPALIVE_INTVL, Int32(clamping: interval), "ZMQ_TCP_KEEPALIVE_INTVL")
        }
        if let count = keepalive.count {
            try setOption(ZMQ_TCP_KEEPALIVE_CNT, Int32(clamping: count), "ZMQ_TCP_KEEPALIVE_CNT")
        }
    }

    /// SUB only: receive messages starting with `prefix` (empty = everything).
    public func subscribe(_ prefix: [UInt8] = []) throws {
        try setOption(ZMQ_SUBSCRIBE, bytes: prefix, "ZMQ_SUBSCRIBE")
    }

    /// SUB only: undo one ``subscribe(_:)``.
    public func unsubscribe(_ prefix: [UInt8] = []) throws {
        try setOption(ZMQ_UNSUBSCRIBE, bytes: prefix, "ZMQ_UNSUBSCRIBE")
    }

    /// The endpoint of the last bind or connect, with a wildcard port resolved
    /// (`"tcp://127.0.0.1:*"` becomes e.g. `"tcp://127.0.0.1:41237"`).
    public func lastEndpoint() throws -> String {
        var bytes = try bytesOption(ZMQ_LAST_ENDPOINT, capacity: 1024, "ZMQ_LAST_ENDPOINT")
        if let nul = bytes.firstIndex(of: 0) { bytes.removeSubrange(nul...) }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Raw access (for options without a typed setter)

    func setOption(_ option: Int32, _ value: Int32, _ name: String) throws {
        let handle = try requireHandle("zmq_setsockopt(\(name))")
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(name))")
        }
    }

    func setOption64(_ option: Int32, _ value: Int64, _ name: String) throws {
        let handle = try requireHandle("zmq_setsockopt(\(name))")
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(name))")
        }
    }

    func setOption(_ option: Int32, bytes: [UInt8], _ name: String) throws {
        let handle = try requireHandle("zmq_setsockopt(\(name))")
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError.last("zmq_setsockopt(\(name))") }
    }

    func int32Option(_ option: Int32, _ name: String) throws -> Int32 {
        let handle = try requireHandle("zmq_getsockopt(\(name))")
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, option, &value, &size) == 0 else {
            throw ZMQError.last("zmq_getsockopt(\(name))")
        }
        return value
    }

    func int64Option(_ option: Int32, _ name: String) throws -> Int64 {
        let handle = try requireHandle("zmq_getsockopt(\(name))")
        var value: Int64 = 0
        var size = MemoryLayout<Int64>.size
        guard zmq_getsockopt(handle, option, &value, &size) == 0 else {
            throw ZMQError.last("zmq_getsockopt(\(name))")
        }
        return value
    }

    func bytesOption(_ option: Int32, capacity: Int, _ name: String) throws -> [UInt8] {
        let handle = try requireHandle("zmq_getsockopt(\(name))")
        var buffer = [UInt8](repeating: 0, count: capacity)
        var size = capacity
        let rc = buffer.withUnsafeMutableBytes { zmq_getsockopt(handle, option, $0.baseAddress, &size) }
        guard rc == 0 else { throw ZMQError.last("zmq_getsockopt(\(name))") }
        return Array(buffer.prefix(size))
    }
}
