import BennCore
import Foundation

/// The wire protocol between coordinator, workers and clients (docs/PROTOCOL.md).
///
/// Every message is a ZeroMQ multipart message:
///   frame 0: the protocol tag `BENN/1` (ASCII); a peer speaking another version is refused
///   frame 1: the message type (ASCII, e.g. `READY`)
///   frame 2: a JSON object (UTF-8) with the message's fields
///   frame 3...: binary payloads (tensors, dataset chunks), as the type defines
/// The ROUTER side sees the peer's routing id as an extra first frame.
public enum Wire {
    public static let version = 1
    public static let tag = "BENN/\(version)"
    /// The largest frame either side accepts (ZMQ_MAXMSGSIZE, enforced per frame by
    /// libzmq, which drops the connection of a peer that exceeds it); member results of the
    /// benchmark models are tens of megabytes.
    public static let maxMessageBytes: Int64 = 256 << 20
    /// The largest JSON header accepted.
    public static let maxHeaderBytes = 8 << 20
    /// Dataset files travel in chunks of this size; a DATA reply carries exactly
    /// min(chunkBytes, size - offset) bytes, so a worker knows each request's offset ahead.
    public static let chunkBytes = 4 << 20
    /// FETCH_DATA requests a worker keeps outstanding: with one at a time, every chunk
    /// waits a full round trip (hash, copy, send) before the next is even asked for.
    public static let fetchWindow = 4
    /// Messages the coordinator queues for one peer (ZMQ_SNDHWM, per peer on a ROUTER). A
    /// peer that lets this many pile up is not reading and is dropped, so what one peer can
    /// make the coordinator hold is bounded: at most this many DATA chunks (64 MiB).
    public static let sendHighWaterMark = 16
}

/// Message types. Directions: W = worker, C = client (submit/status), K = coordinator.
public enum MessageType: String, Sendable, CaseIterable {
    case hello = "HELLO"            // W->K: join, with capabilities
    case welcome = "WELCOME"        // K->W: accepted; heartbeat settings
    case ready = "READY"            // W->K: asks for work
    case job = "JOB"                // K->W: a member job (+ warm-start tensors)
    case progress = "PROGRESS"      // W->K: epoch/batch progress of the running job
    case result = "RESULT"          // W->K: a finished member (+ tensors, + misses)
    case failed = "FAILED"          // W->K: the job failed, with the error
    case ack = "ACK"                // K->W: result stored (or dropped as a duplicate)
    case heartbeat = "HEARTBEAT"    // both ways
    case bye = "BYE"                // W->K: leaving (job handed back)
    case fetchData = "FETCH_DATA"   // W->K: a chunk of a dataset file, by content hash
    case data = "DATA"              // K->W: the chunk (+ bytes)
    case submit = "SUBMIT"          // C->K: a spec
    case accepted = "ACCEPTED"      // K->C: spec queued, with its id
    case status = "STATUS"          // C->K: what is going on
    case statusReply = "STATUS_REPLY"
    case fetchArtifact = "FETCH_ARTIFACT" // C->K: a finished spec's artifact
    case artifact = "ARTIFACT"      // K->C: the artifact bytes
    case error = "ERROR"            // K->any: a request was refused, with the reason
}

/// A decoded message.
public struct Message: Sendable {
    public var type: MessageType
    public var header: [String: JSONValue]
    public var payloads: [[UInt8]]
    /// The header already encoded as a JSON object; when set, `frames()` sends it instead
    /// of encoding `header` (for messages assembled from cached pieces).
    public var encodedHeader: [UInt8]?

    public init(_ type: MessageType, _ header: [String: JSONValue] = [:], payloads: [[UInt8]] = []) {
        self.type = type
        self.header = header
        self.payloads = payloads
    }

    /// A message whose header is given as encoded JSON object members: `(key, JSON text)`.
    public init(_ type: MessageType, encodedFields: [(String, [UInt8])], payloads: [[UInt8]] = []) {
        self.init(type, payloads: payloads)
        var out: [UInt8] = [0x7b]
        for (i, (key, value)) in encodedFields.sorted(by: { $0.0 < $1.0 }).enumerated() {
            if i > 0 { out.append(0x2c) }
            JSONWriter.string(key, into: &out)
            out.append(0x3a)
            out += value
        }
        out.append(0x7d)
        encodedHeader = out
    }

    public func frames() -> [[UInt8]] {
        [Array(Wire.tag.utf8), Array(type.rawValue.utf8), encodedHeader ?? JSONValue.object(header).encoded()] + payloads
    }

    /// Why a message was refused; the text goes into logs and ERROR replies.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static func decode(_ frames: [[UInt8]]) throws -> Message {
        guard frames.count >= 3 else { throw Invalid(description: "message has \(frames.count) frames, at least 3 expected (tag, type, header)") }
        let tag = String(decoding: frames[0], as: UTF8.self)
        guard tag == Wire.tag else {
            if tag.hasPrefix("BENN/") {
                throw Invalid(description: "protocol version mismatch: peer speaks \(tag.prefix(16)), this side \(Wire.tag)")
            }
            throw Invalid(description: "not a benn message (first frame is not \(Wire.tag))")
        }
        guard let type = MessageType(rawValue: String(decoding: frames[1], as: UTF8.self)) else {
            throw Invalid(description: "unknown message type '\(String(decoding: frames[1].prefix(32), as: UTF8.self))'")
        }
        guard frames[2].count <= Wire.maxHeaderBytes else { throw Invalid(description: "header of \(frames[2].count) bytes is too large") }
        guard case let .object(header)? = try? JSONValue.decode(frames[2]) else {
            throw Invalid(description: "\(type.rawValue) header is not a JSON object")
        }
        return Message(type, header, payloads: Array(frames[3...]))
    }

    // Typed field access with errors naming the field.
    public func string(_ key: String) throws -> String {
        guard case let .string(s)? = header[key] else { throw Invalid(description: "\(type.rawValue): field '\(key)' missing or not a string") }
        return s
    }

    public func int(_ key: String) throws -> Int {
        guard let n = header[key]?.intValue else {
            throw Invalid(description: "\(type.rawValue): field '\(key)' missing or not an integer")
        }
        return n
    }

    public func optionalString(_ key: String) -> String? {
        if case let .string(s)? = header[key] { return s }
        return nil
    }

    public func decodeField<T: Decodable>(_ key: String, as: T.Type) throws -> T {
        guard let v = header[key] else { throw Invalid(description: "\(type.rawValue): field '\(key)' missing") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(v.encoded()))
        } catch {
            throw Invalid(description: "\(type.rawValue): field '\(key)' malformed (\(error))")
        }
    }
}
