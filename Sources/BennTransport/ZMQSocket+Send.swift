import CZMQ

extension ZMQSocket {
    /// Sends one multipart message; each element of `frames` is one frame (empty frames and
    /// frames containing zero bytes are sent as they are).
    ///
    /// - Parameters:
    ///   - frames: at least one frame. For a ROUTER the first frame is the peer's routing id.
    ///   - dontWait: when true, do not block: if the message cannot be queued right now
    ///     (no peer to send to, e.g. a DEALER with no completed connection under
    ///     ``setImmediate(_:)``, or the high-water mark is reached) return `false` and send nothing.
    /// - Returns: `true` when the message was queued. Also `false` when a blocking send hit the
    ///   `ZMQ_SNDTIMEO` timeout.
    /// - Throws: ``ZMQError`` for other failures, e.g. `EHOSTUNREACH` from a ROUTER with
    ///   ``setRouterMandatory(_:)`` when the routing id is unknown, `EFSM` for a REQ/REP
    ///   out of turn, `ETERM` after context shutdown.
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws -> Bool {
        let handle = try requireHandle("zmq_send")
        guard !frames.isEmpty else { throw ZMQError(code: EINVAL, operation: "zmq_send (zero frames)") }
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            while true {
                let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if rc >= 0 { break }
                let code = zmq_errno()
                if code == EINTR { continue }
                // libzmq admits or refuses a message at its first frame (the HWM counts whole
                // messages), so EAGAIN here means nothing was sent.
                if code == EAGAIN && index == 0 { return false }
                throw ZMQError(code: code, operation: "zmq_send")
            }
        }
        return true
    }
}
