import BennTrain
import BennTransport
import Foundation

/// A short-lived connection for `benn submit` and `benn status`: one request, one reply.
public final class ClusterClient {
    let context: ZMQContext
    let socket: ZMQSocket
    /// Set with CURVE: a refused key is only visible as a handshake event.
    let monitor: ZMQSocketMonitor?
    let publicKey: String
    public let endpoint: String

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// Nothing came back in time (the coordinator may be restarting).
        public var isTimeout = false
    }

    public init(endpoint: String, curveSecretKey: String? = nil, serverPublicKey: String? = nil) throws {
        self.endpoint = endpoint
        context = try ZMQContext()
        socket = try ZMQSocket(context: context, type: .dealer)
        try socket.setLinger(milliseconds: 0)
        try socket.setMaxMessageSize(Wire.maxMessageBytes)
        if let secret = curveSecretKey, let server = serverPublicKey {
            (monitor, publicKey) = try HandshakeDiagnosis.secure(socket, secretKey: secret, serverPublicKey: server)
        } else {
            monitor = nil
            publicKey = ""
        }
        try socket.connect(endpoint)
    }

    deinit {
        monitor?.close()
        socket.close()
        context.shutdown()
    }

    /// Sends a request and waits for the reply of type `R` (ERROR replies become thrown
    /// failures; a late reply of another type, to an earlier request that timed out, is
    /// skipped).
    public func request<R: WireMessage>(_ m: some WireMessage, expecting: R.Type, timeoutSeconds: Double = 10) throws -> R {
        _ = try socket.send(m.frames())
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var unexplainedFailures = 0
        while Date() < deadline {
            guard let frames = try socket.receive(timeoutMilliseconds: 100) else {
                // A refused handshake never turns into an answer; say why instead of waiting.
                // A handshake failure without detail may be the coordinator restarting; only
                // a repeated one (libzmq retries every 100 ms) is taken as final.
                for event in try monitor?.drain() ?? [] {
                    guard let reason = HandshakeDiagnosis.describe(event, role: "client", publicKey: publicKey) else { continue }
                    if event.event == .handshakeFailedOther {
                        unexplainedFailures += 1
                        if unexplainedFailures < 3 { continue }
                    }
                    throw Failure(description: reason)
                }
                continue
            }
            let reply = try Message.decode(frames)
            if reply.type == .error { throw Failure(description: Sanitized.text(try Wire.Refusal(reply).reason, limit: 4000)) }
            if reply.type == R.type { return try R(reply) }
        }
        throw Failure(description: "no answer from the coordinator at \(endpoint) within \(Int(timeoutSeconds)) s (is it running, and are the keys right?)",
                      isTimeout: true)
    }

    public func submit(_ spec: TrainingSpec, output: String?) throws -> String {
        try request(Wire.SubmitSpec(spec: spec, output: output), expecting: Wire.Accepted.self, timeoutSeconds: 60).id
    }

    public func status(timeoutSeconds: Double = 10) throws -> ClusterStatus {
        try request(Wire.StatusRequest(), expecting: Wire.StatusReply.self, timeoutSeconds: timeoutSeconds).status
    }

    /// The artifact bytes of a finished spec.
    public func artifact(id: String) throws -> [UInt8] {
        try request(Wire.FetchArtifact(id: id), expecting: Wire.ArtifactReply.self, timeoutSeconds: 60).bytes
    }
}
