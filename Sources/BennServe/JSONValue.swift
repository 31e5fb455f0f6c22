#if canImport(Glibc)
import Glibc
#endif

/// A parsed JSON document (RFC 8259), from a strict single-pass parser.
///
/// Infer bodies are mostly one long list of numbers (a 256-image batch is about 200,000
/// of them); Foundation's JSONDecoder takes tens of milliseconds on such a body, longer
/// than the inference itself, while this parser reads integers without allocating and
/// hands other numbers to Swift's `Double(_:)`. Nesting is limited (``maxDepth``) so no body can
/// exhaust the stack.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public static let maxDepth = 64

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let offset: Int
        public let problem: String
        public var description: String { "malformed JSON at byte \(offset): \(problem)" }
    }

    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSONValue {
        if bytes.isEmpty { throw ParseError(offset: 0, problem: "the body is empty") }
        do {
            return try bytes.withUnsafeBufferPointer { buffer in
                var parser = Parser(p: buffer.baseAddress!, count: bytes.count)
                parser.skipSpace()
                let value = try parser.value(depth: 0)
                parser.skipSpace()
                guard parser.i == parser.count else { throw parser.fail("unexpected text after the JSON value") }
                return value
            }
        } catch let e as ParseError { throw e } catch { throw ParseError(offset: 0, problem: "\(error)") }
    }

    /// Short name of the kind of value, for error messages.
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    private struct Parser {
        let p: UnsafePointer<UInt8>
        let count: Int
        var i = 0

        init(p: UnsafePointer<UInt8>, count: Int) {
            self.p = p
            self.count = count
        }

        func fail(_ problem: String) -> ParseError { ParseError(offset: i, problem: problem) }

        mutating func skipSpace() {
            while i < count, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
        }

        func describeHere() -> String {
            guard i < count else { return "the end of the body" }
            let c = p[i]
            return c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
        }

        mutating func value(depth: Int) throws(ParseError) -> JSONValue {
            guard i < count else { throw fail("expected a value, found the end of the body") }
            switch p[i] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw fail("expected a value, found \(describeHere())")
            }
        }

        mutating func literal(_ word: StaticString) throws(ParseError) {
            let n = word.utf8CodeUnitCount
            guard i + n <= count, memcmp(p + i, word.utf8Start, n) == 0 else { throw fail("expected a value, found \(describeHere())") }
            i += n
        }

        mutating func array(depth: Int) throws(ParseError) -> JSONValue {
            guard depth <= JSONValue.maxDepth else { throw fail("nested deeper than \(JSONValue.maxDepth) levels") }
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < count, p[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth))
                skipSpace()
                guard i < count else { throw fail("unterminated list") }
                if p[i] == UInt8(ascii: ",") { i += 1; continue }
                if p[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']' in a list, found \(describeHere())")
            }
        }

        mutating func object(depth: Int) throws(ParseError) -> JSONValue {
            guard depth <= JSONValue.maxDepth else { throw fail("nested deeper than \(JSONValue.maxDepth) levels") }
            i += 1
            var members: [String: JSONValue] = [:]
            skipSpace()
            if i < count, p[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < count, p[i] == UInt8(ascii: "\"") else { throw fail("expected a key (a string), found \(describeHere())") }
                let key = try string()
                skipSpace()
                guard i < count, p[i] == UInt8(ascii: ":") else { throw fail("expected ':' after key \"\(key)\", found \(describeHere())") }
                i += 1
                skipSpace()
                members[key] = try value(depth: depth)
                skipSpace()
                guard i < count else { throw fail("unterminated object") }
                if p[i] == UInt8(ascii: ",") { i += 1; continue }
                if p[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                throw fail("expected ',' or '}' in an object, found \(describeHere())")
            }
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            guard i + 4 <= count else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = p[i + k]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: throw fail("bad \\u escape")
                }
                v = v << 4 | UInt32(d)
            }
            i += 4
            return v
        }

        mutating func string() throws(ParseError) -> String {
            i += 1
            var out: [UInt8] = []
            while true {
                guard i < count else { throw fail("unterminated string") }
                let c = p[i]
                if c == UInt8(ascii: "\"") { i += 1; break }
                if c < 0x20 { throw fail("control character in a string") }
                if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
                i += 1
                guard i < count else { throw fail("unterminated string") }
                let e = p[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), i + 6 <= count, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        scalar = (0xDC00..<0xE000).contains(low) ? 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
                    }
                    out += Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
                default: throw fail("bad escape '\\\(Character(Unicode.Scalar(e)))' in a string")
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        mutating func number() throws(ParseError) -> Double {
            let start = i
            var negative = false
            if p[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            func isDigit(_ k: Int) -> Bool { k < count && p[k] >= UInt8(ascii: "0") && p[k] <= UInt8(ascii: "9") }
            guard isDigit(i) else { throw fail("expected a digit") }
            var integer: UInt64 = 0
            var digits = 0
            if p[i] == UInt8(ascii: "0") {
                i += 1
                if isDigit(i) { throw fail("numbers do not start with 0") }
                digits = 1
            } else {
                while isDigit(i) {
                    if digits < 18 { integer = integer * 10 + UInt64(p[i] - UInt8(ascii: "0")) }
                    digits += 1
                    i += 1
                }
            }
            var simple = digits <= 15
            if i < count, p[i] == UInt8(ascii: ".") {
                simple = false
                i += 1
                guard isDigit(i) else { throw fail("expected a digit after '.'") }
                while isDigit(i) { i += 1 }
            }
            if i < count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
                simple = false
                i += 1
                if i < count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
                guard isDigit(i) else { throw fail("expected a digit in the exponent") }
                while isDigit(i) { i += 1 }
            }
            if simple {
                // Integers below 2^53 are exact.
                let v = Double(integer)
                return negative ? -v : v
            }
            // Swift's parser: correctly rounded, and '.' whatever the process's locale.
            let text = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
            guard let v = Double(text) else { throw fail("cannot read the number \(text)") }
            return v
        }
    }
}

extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}
