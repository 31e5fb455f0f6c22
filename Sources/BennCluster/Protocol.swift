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

/// A JSON value, for message headers that mix fixed fields and encoded structures.
public indirect enum JSONValue: Sendable, Equatable, Codable {
    /// Integers keep all 64 bits (seeds are UInt64); other numbers are Doubles.
    case null, bool(Bool), int(Int64), uint(UInt64), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let u = try? c.decode(UInt64.self) { self = .uint(u) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .int(i): try c.encode(i)
        case let .uint(u): try c.encode(u)
        case let .number(n): try c.encode(n)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    /// Compact UTF-8 JSON with object keys sorted (equal values give equal bytes). Written
    /// by hand: Foundation's encoder, through `Codable`, cost the coordinator milliseconds per
    /// message. Non-finite numbers, which JSON cannot carry, are written as `null`.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        JSONWriter.write(self, into: &out)
        return out
    }

    /// Parses one JSON value (RFC 8259; surrounding white space allowed, nothing after it).
    /// Integers without fraction or exponent keep all their bits (`int`, or `uint` above
    /// Int64.max); other numbers are Doubles. Nesting is limited to 512 levels, so hostile
    /// input cannot exhaust the stack.
    public static func decode(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            parser.skipSpace()
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.index == buffer.count else { throw parser.fail("unexpected data after the JSON value") }
            return value
        }
    }

    /// Any Encodable as a JSON value.
    public static func from<T: Encodable>(_ value: T) -> JSONValue {
        guard let data = try? JSONEncoder().encode(value), let v = try? decode([UInt8](data)) else { return .null }
        return v
    }

    public static func integer(_ v: Int) -> JSONValue { .int(Int64(v)) }

    /// The value as an Int, if it is a whole number in range.
    public var intValue: Int? {
        switch self {
        case let .int(i): return Int(exactly: i)
        case let .uint(u): return Int(exactly: u)
        case let .number(n): return n.rounded() == n && abs(n) < 1e15 ? Int(n) : nil
        default: return nil
        }
    }
}

/// Why a JSON text was refused, with the byte offset.
public struct JSONSyntaxError: Error, CustomStringConvertible {
    public let offset: Int
    public let problem: String
    public var description: String { "invalid JSON at byte \(offset): \(problem)" }
}

enum JSONWriter {
    static let hex = Array("0123456789abcdef".utf8)

    static func write(_ v: JSONValue, into out: inout [UInt8]) {
        switch v {
        case .null: out += [0x6e, 0x75, 0x6c, 0x6c]
        case let .bool(b): out += b ? Array("true".utf8) : Array("false".utf8)
        case let .int(i): out += String(i).utf8
        case let .uint(u): out += String(u).utf8
        case let .number(n):
            if n.isFinite { out += n.description.utf8 } else { out += [0x6e, 0x75, 0x6c, 0x6c] }
        case let .string(s): string(s, into: &out)
        case let .array(a):
            out.append(0x5b)
            for (i, e) in a.enumerated() {
                if i > 0 { out.append(0x2c) }
                write(e, into: &out)
            }
            out.append(0x5d)
        case let .object(o):
            out.append(0x7b)
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(0x2c) }
                string(key, into: &out)
                out.append(0x3a)
                write(o[key]!, into: &out)
            }
            out.append(0x7d)
        }
    }

    static func string(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: out += [0x5c, 0x22]
            case 0x5c: out += [0x5c, 0x5c]
            case 0x0a: out += [0x5c, 0x6e]
            case 0x0d: out += [0x5c, 0x72]
            case 0x09: out += [0x5c, 0x74]
            case 0..<0x20: out += [0x5c, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}

struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    static let maxDepth = 512

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func fail(_ problem: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, problem: problem) }

    mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0a || bytes[index] == 0x0d || bytes[index] == 0x09 { index += 1 }
    }

    mutating func literal(_ word: [UInt8], _ value: JSONValue) throws -> JSONValue {
        guard index + word.count <= bytes.count else { throw fail("truncated literal") }
        for i in 0..<word.count where bytes[index + i] != word[i] { throw fail("unknown literal") }
        index += word.count
        return value
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < JSONParser.maxDepth else { throw fail("nested deeper than \(JSONParser.maxDepth) levels") }
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case 0x7b: // {
            index += 1
            var object: [String: JSONValue] = [:]
            skipSpace()
            if index < bytes.count, bytes[index] == 0x7d { index += 1; return .object(object) }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == 0x22 else { throw fail("expected a string key") }
                let key = try string()
                skipSpace()
                guard index < bytes.count, bytes[index] == 0x3a else { throw fail("expected ':'") }
                index += 1
                skipSpace()
                object[key] = try value(depth: depth + 1)
                skipSpace()
                guard index < bytes.count else { throw fail("unterminated object") }
                if bytes[index] == 0x2c { index += 1; continue }
                if bytes[index] == 0x7d { index += 1; return .object(object) }
                throw fail("expected ',' or '}'")
            }
        case 0x5b: // [
            index += 1
            var array: [JSONValue] = []
            skipSpace()
            if index < bytes.count, bytes[index] == 0x5d { index += 1; return .array(array) }
            while true {
                skipSpace()
                array.append(try value(depth: depth + 1))
                skipSpace()
                guard index < bytes.count else { throw fail("unterminated array") }
                if bytes[index] == 0x2c { index += 1; continue }
                if bytes[index] == 0x5d { index += 1; return .array(array) }
                throw fail("expected ',' or ']'")
            }
        case 0x22: return .string(try string())
        case 0x74: return try literal(Array("true".utf8), .bool(true))
        case 0x66: return try literal(Array("false".utf8), .bool(false))
        case 0x6e: return try literal(Array("null".utf8), .null)
        case 0x2d, 0x30...0x39: return try number()
        default: throw fail("unexpected character")
        }
    }

    mutating func digits() -> Int {
        let start = index
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
        return index - start
    }

    mutating func number() throws -> JSONValue {
        let start = index
        if bytes[index] == 0x2d { index += 1 }
        let intStart = index
        let n = digits()
        guard n > 0 else { throw fail("a number needs digits") }
        guard n == 1 || bytes[intStart] != 0x30 else { throw fail("leading zeros are not allowed") }
        var integral = true
        if index < bytes.count, bytes[index] == 0x2e {
            index += 1
            integral = false
            guard digits() > 0 else { throw fail("a fraction needs digits") }
        }
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            index += 1
            integral = false
            if index < bytes.count, bytes[index] == 0x2b || bytes[index] == 0x2d { index += 1 }
            guard digits() > 0 else { throw fail("an exponent needs digits") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral {
            if let i = Int64(text) { return .int(i) }
            if let u = UInt64(text) { return .uint(u) }
        }
        guard let d = Double(text), d.isFinite else { throw fail("number out of range") }
        return .number(d)
    }

    mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    mutating func string() throws -> String {
        index += 1 // opening quote
        let start = index
        // Fast path: no escapes.
        while index < bytes.count, bytes[index] != 0x22, bytes[index] != 0x5c, bytes[index] >= 0x20 { index += 1 }
        guard index < bytes.count else { throw fail("unterminated string") }
        if bytes[index] == 0x22 {
            let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
            index += 1
            guard let s = String(validating: raw, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
            return s
        }
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let c = bytes[index]
            if c == 0x22 { index += 1; break }
            guard c >= 0x20 else { throw fail("control character in a string") }
            if c != 0x5c { out.append(c); index += 1; continue }
            index += 1
            guard index < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[index]
            index += 1
            switch e {
            case 0x22: out.append(0x22)
            case 0x5c: out.append(0x5c)
            case 0x2f: out.append(0x2f)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0c)
            case 0x6e: out.append(0x0a)
            case 0x72: out.append(0x0d)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard index + 6 <= bytes.count, bytes[index] == 0x5c, bytes[index + 1] == 0x75 else { throw fail("lone surrogate") }
                    index += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("bad surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw fail("lone surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("bad \\u escape") }
                UTF8.encode(u) { out.append($0) }
            default: throw fail("unknown escape")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }
}
