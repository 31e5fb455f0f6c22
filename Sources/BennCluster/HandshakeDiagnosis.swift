import BennTransport

/// Turns libzmq's handshake-failure events into sentences a user can act on.
///
/// Without this, a worker or client whose key the coordinator refuses only ever sees
/// silence: CurveZMQ rejects the connection before any benn message is exchanged.
public enum HandshakeDiagnosis {
    /// The events a CURVE peer of the coordinator watches its socket for.
    public static let watchedEvents: ZMQMonitorEvents = .handshakeFailures

    /// Makes `socket` (not yet connected) a CURVE client of the coordinator and starts
    /// watching its handshakes; returns the monitor and our public key for the messages.
    static func secure(_ socket: ZMQSocket, secretKey: String, serverPublicKey: String) throws
        -> (monitor: ZMQSocketMonitor, publicKey: String) {
        let keys = try CurveKeyPair(secretKey: secretKey)
        try socket.makeCurveClient(keyPair: keys, serverPublicKey: serverPublicKey)
        return (try ZMQSocketMonitor(socket, events: watchedEvents), keys.publicKey)
    }

    /// A description of `event`, or nil when it is not a handshake failure.
    /// - Parameters:
    ///   - role: "worker" or "client", for the message.
    ///   - publicKey: our own public key (what the coordinator's allow list must hold).
    public static func describe(_ event: ZMQMonitorEvent, role: String, publicKey: String) -> String? {
        if event.event == .handshakeFailedAuth {
            return "the coordinator at \(event.endpoint) refused this \(role)'s key \(publicKey) (ZAP status \(event.value)): "
                + "add that public key to the coordinator's --allow files and restart it"
        }
        if event.event == .handshakeFailedProtocol {
            let detail: String
            switch Int32(bitPattern: event.value) {
            case ZMQProtocolError.mechanismMismatch:
                detail = "the coordinator does not use CURVE (start it with --secret-key, or drop --secret-key here)"
            case ZMQProtocolError.cryptographic, ZMQProtocolError.keyExchange:
                detail = "the --server-key does not match the coordinator's public key"
            default:
                detail = "protocol error 0x\(String(event.value, radix: 16))"
            }
            return "the CURVE handshake with \(event.endpoint) failed: \(detail)"
        }
        if event.event == .handshakeFailedOther {
            return "the CURVE handshake with \(event.endpoint) failed (is --server-key the coordinator's public key?)"
        }
        return nil
    }
}
