import Foundation

/// A JSON value (RFC 8259) and its codec: the cluster's message headers and the HTTP
/// server's request bodies.
///
/// Written by hand for speed: Foundation's encoder, through `Codable`, cost the coordinator
/// milliseconds per message, and its decoder takes tens of milliseconds on an infer body of
/// 200,000 numbers, longer than the inference itself.
public enum JSONValue: Sendable, Equatable, Codable {
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

    /// Compact UTF-8 JSON with object keys sorted (equal values give equal bytes).
    /// Non-finite numbers, which JSON cannot carry, are written as `null`.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        JSONWriter.write(self, into: &out)
        return out
    }

    /// Parses one JSON value (RFC 8259; surrounding white space allowed, nothing after it).
    /// Integers without fraction or exponent keep all their bits (`int`, or `uint` above
    /// Int64.max); other numbers are Doubles, and one that overflows a Double is refused.
    /// Arrays and objects nest at most `maxDepth` levels, so hostile input cannot exhaust
    /// the stack.
    public static func decode(_ bytes: [UInt8], maxDepth: Int = 512) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer, maxDepth: maxDepth)
            do throws(JSONSyntaxError) {
                parser.skipSpace()
                let value = try parser.value(depth: 0)
                parser.skipSpace()
                guard parser.index == buffer.count else { throw parser.fail("unexpected data after the JSON value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
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

    /// The value as a Double, if it is a number (integers above 2^53 rounded).
    public var doubleValue: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .uint(u): return Double(u)
        case let .number(n): return n
        default: return nil
        }
    }

    /// Short name of the kind of value, for error messages.
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .uint, .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    /// An object's member, or nil (also when the value is not an object).
    public subscript(key: String) -> JSONValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }
}

/// Why a JSON text was refused, with the byte offset.
public struct JSONSyntaxError: Error, CustomStringConvertible, Sendable {
    public let offset: Int
    public let problem: String
    public var description: String { "invalid JSON at byte \(offset): \(problem)" }
}

/// Appends JSON text to a byte buffer (for messages assembled from pre-encoded pieces).
public enum JSONWriter {
    static let hex = Array("0123456789abcdef".utf8)

    public static func write(_ v: JSONValue, into out: inout [UInt8]) {
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

    /// Appends `s` as a JSON string literal.
    public static func string(_ s: String, into out: inout [UInt8]) {
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
    let maxDepth: Int
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func fail(_ problem: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, problem: problem) }

    mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0a || bytes[index] == 0x0d || bytes[index] == 0x09 { index += 1 }
    }

    mutating func literal(_ word: [UInt8], _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        guard index + word.count <= bytes.count else { throw fail("truncated literal") }
        for i in 0..<word.count where bytes[index + i] != word[i] { throw fail("unknown literal") }
        index += word.count
        return value
    }

    mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case 0x7b: // {
            guard depth < maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
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
            guard depth < maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
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

    mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = index
        let negative = bytes[index] == 0x2d
        if negative { index += 1 }
        let intStart = index
        // Up to 18 digits fit an Int64 whatever they are: read without allocating.
        var magnitude: Int64 = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            if index - intStart < 18 { magnitude = magnitude &* 10 &+ Int64(bytes[index] &- 0x30) }
            index += 1
        }
        let n = index - intStart
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
        if integral && n <= 18 { return .int(negative ? -magnitude : magnitude) }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral {
            if let i = Int64(text) { return .int(i) }
            if let u = UInt64(text) { return .uint(u) }
        }
        guard let d = Double(text), d.isFinite else { throw fail("number out of range (non-finite as a Double): \(text)") }
        return .number(d)
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
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

    mutating func string() throws(JSONSyntaxError) -> String {
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
