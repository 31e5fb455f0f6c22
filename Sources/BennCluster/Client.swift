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

    /// Sends a request and waits for the reply (ERROR replies become thrown failures).
    public func request(_ m: Message, timeoutSeconds: Double = 10) throws -> Message {
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
            if reply.type == .heartbeat { continue }
            if reply.type == .error { throw Failure(description: reply.optionalString("reason") ?? "the coordinator refused the request") }
            return reply
        }
        throw Failure(description: "no answer from the coordinator at \(endpoint) within \(Int(timeoutSeconds)) s (is it running, and are the keys right?)")
    }

    public func submit(_ spec: TrainingSpec, output: String?) throws -> String {
        var header: [String: JSONValue] = ["spec": .from(spec)]
        if let output { header["output"] = .string(output) }
        return try request(Message(.submit, header), timeoutSeconds: 60).string("id")
    }

    public func status() throws -> [String: JSONValue] { try request(Message(.status)).header }

    /// The artifact bytes of a finished spec.
    public func artifact(id: String) throws -> [UInt8] {
        let reply = try request(Message(.fetchArtifact, ["id": .string(id)]), timeoutSeconds: 60)
        guard let bytes = reply.payloads.first else { throw Failure(description: "ARTIFACT reply without bytes") }
        return bytes
    }
}
