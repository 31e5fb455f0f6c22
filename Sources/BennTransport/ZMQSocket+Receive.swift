import CZMQ

/// A received multipart message together with connection metadata.
public struct ZMQIncomingMessage: Sendable, Equatable {
    /// The frames, in order. For a ROUTER the first frame is the sender's routing id.
    public var frames: [[UInt8]]
    /// The `User-Id` property of the connection, set by a ZAP handler (for
    /// ``ZAPAuthenticator`` the client's Z85 public key); nil without ZAP.
    public var userID: String?
    /// The `Peer-Address` property (remote IP) on TCP connections.
    public var peerAddress: String?
}

extension ZMQSocket {
    /// Receives one multipart message.
    /// - Parameter timeoutMilliseconds: how long to wait; negative waits forever, 0 polls.
    /// - Returns: the frames, or `nil` if nothing arrived in time.
    public func receive(timeoutMilliseconds: Int = -1) throws -> [[UInt8]]? {
        try receiveMessage(timeoutMilliseconds: timeoutMilliseconds, wantProperties: false)?.frames
    }

    /// Like ``receive(timeoutMilliseconds:)``, also returning the connection's `User-Id` and
    /// `Peer-Address` properties.
    public func receiveWithMetadata(timeoutMilliseconds: Int = -1) throws -> ZMQIncomingMessage? {
        try receiveMessage(timeoutMilliseconds: timeoutMilliseconds, wantProperties: true)
    }

    private func receiveMessage(timeoutMilliseconds: Int, wantProperties: Bool) throws -> ZMQIncomingMessage? {
        let handle = try requireHandle("zmq_msg_recv")
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }

        // First frame: wait with zmq_poll, then take it without blocking.
        let deadline = ContinuousClock.now + .milliseconds(max(timeoutMilliseconds, 0))
        while true {
            var flags: Int32 = 0
            if timeoutMilliseconds >= 0 {
                let remaining = deadline - ContinuousClock.now
                let remainingMs = max(0, Int((remaining / .milliseconds(1)).rounded(.up)))
                guard try Self.waitReadable(handle, timeoutMilliseconds: remainingMs) else { return nil }
                flags = ZMQ_DONTWAIT
            }
            if zmq_msg_recv(&message, handle, flags) >= 0 { break }
            let code = zmq_errno()
            if code == EINTR { continue }
            if code == EAGAIN {
                if ContinuousClock.now >= deadline { return nil }
                continue
            }
            throw ZMQError(code: code, operation: "zmq_msg_recv")
        }

        var incoming = ZMQIncomingMessage(frames: [])
        while true {
            incoming.frames.append(Array(UnsafeRawBufferPointer(
                start: zmq_msg_data(&message), count: zmq_msg_size(&message))))
            // Frames read from the wire carry the connection's properties; the routing-id
            // frame a ROUTER prepends does not, so look at each frame until found.
            if wantProperties && incoming.userID == nil && incoming.peerAddress == nil {
                incoming.userID = zmq_msg_gets(&message, "User-Id").map { String(cString: $0) }
                incoming.peerAddress = zmq_msg_gets(&message, "Peer-Address").map { String(cString: $0) }
            }
            if zmq_msg_more(&message) == 0 { return incoming }
            // Later frames of a multipart message are delivered together with the first.
            while zmq_msg_recv(&message, handle, 0) < 0 {
                let code = zmq_errno()
                if code != EINTR { throw ZMQError(code: code, operation: "zmq_msg_recv") }
            }
        }
    }

    static func waitReadable(_ handle: UnsafeMutableRawPointer, timeoutMilliseconds: Int) throws -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        while true {
            let rc = zmq_poll(&item, 1, timeoutMilliseconds)
            if rc >= 0 { return rc > 0 }
            let code = zmq_errno()
            if code != EINTR { throw ZMQError(code: code, operation: "zmq_poll") }
        }
    }
}
