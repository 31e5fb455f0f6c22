import Foundation

extension SpecNode {
    /// Parses TOML 1.0 text into a mapping node (the root table). Everything a spec can
    /// hold is read: tables, dotted and quoted keys, inline tables, arrays, every string
    /// form, integers in any base, floats and booleans. Dates and arrays of tables, which no
    /// spec field takes, are refused with their position rather than skipped.
    static func toml(_ text: String, source: String) throws -> SpecNode {
        var parser = TOMLParser(text: text, source: source)
        return try parser.document()
    }
}

/// A table being filled in while the document is read: TOML lets later lines add keys to
/// tables opened earlier (`[a]` ... `[a.b]`, dotted keys), so the tree is built mutably and
/// converted to nodes at the end.
private final class TOMLTable {
    enum Entry {
        case value(SpecNode)
        case table(TOMLTable)
    }

    enum Origin {
        /// Opened only as the parent of another header or dotted key.
        case implicit
        /// Named by its own `[header]`.
        case header
        /// Created by a dotted key (`a.b = 1` creates `a`), or written inline as `{ ... }`
        /// (stored as a value once complete, so nothing can add to it).
        case dottedKey
    }

    var entries: [(key: String, line: Int, column: Int, entry: Entry)] = []
    var index: [String: Int] = [:]
    var origin: Origin
    let line: Int, column: Int

    init(origin: Origin, line: Int, column: Int) {
        self.origin = origin
        self.line = line
        self.column = column
    }

    func add(_ key: String, line: Int, column: Int, _ entry: Entry) {
        index[key] = entries.count
        entries.append((key, line, column, entry))
    }

    func node() -> SpecNode {
        SpecNode(.mapping(entries.map { item in
            let key = SpecNode(.scalar(item.key), line: item.line, column: item.column)
            switch item.entry {
            case .value(let v): return (key: key, value: v)
            case .table(let t): return (key: key, value: t.node())
            }
        }), line: line, column: column)
    }
}

private struct TOMLParser {
    /// One part of a (possibly dotted) key, with where it was written.
    struct KeyPart {
        var name: String
        var line: Int, column: Int
    }

    let source: String
    let text: [Unicode.Scalar]
    var position = 0
    var line = 1, column = 1

    init(text: String, source: String) {
        // A byte-order mark is not part of the document.
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        self.text = scalars
        self.source = source
    }

    // MARK: - Document structure

    mutating func document() throws -> SpecNode {
        let root = TOMLTable(origin: .header, line: 1, column: 1)
        var current = root
        while true {
            skipWhitespace()
            guard let c = peek() else { break }
            if c == "#" { try skipComment(); continue }
            if c == "\n" || c == "\r" { try newline(); continue }
            if c == "[" {
                current = try tableHeader(root: root)
            } else {
                try keyValue(into: current)
            }
            try endOfLine()
        }
        return root.node()
    }

    /// `[a.b]`: opens (or creates) the table, which later key/value lines fill.
    mutating func tableHeader(root: TOMLTable) throws -> TOMLTable {
        let (l, c) = (line, column)
        advance()
        if peek() == "[" {
            throw error(at: l, c, "arrays of tables ([[...]]) are not part of a benn spec")
        }
        skipWhitespace()
        let parts = try key()
        skipWhitespace()
        guard peek() == "]" else { throw error("expected ']' to close the table header") }
        advance()
        var table = root
        for (n, part) in parts.enumerated() {
            let last = n == parts.count - 1
            if let i = table.index[part.name] {
                guard case .table(let existing) = table.entries[i].entry else {
                    throw error(at: part.line, part.column, "'\(dotted(parts[...n]))' is already a value (line \(table.entries[i].line)), not a table")
                }
                if last {
                    if existing.origin == .header || existing.origin == .dottedKey {
                        throw error(at: l, c, "table [\(dotted(parts))] is defined twice (first on line \(existing.line))")
                    }
                    existing.origin = .header
                }
                table = existing
            } else {
                let created = TOMLTable(origin: last ? .header : .implicit, line: part.line, column: part.column)
                table.add(part.name, line: part.line, column: part.column, .table(created))
                table = created
            }
        }
        return table
    }

    /// `a.b.c = value`: the dotted prefix names (or creates) tables below `table`.
    mutating func keyValue(into table: TOMLTable) throws {
        let parts = try key()
        skipWhitespace()
        guard peek() == "=" else {
            throw error("expected '=' after the key '\(dotted(parts))'")
        }
        advance()
        skipWhitespace()
        let value = try self.value()
        try insert(value, at: parts, into: table)
    }

    func insert(_ value: SpecNode, at parts: [KeyPart], into root: TOMLTable) throws {
        var table = root
        for (n, part) in parts.dropLast().enumerated() {
            if let i = table.index[part.name] {
                guard case .table(let existing) = table.entries[i].entry else {
                    throw error(at: part.line, part.column, "'\(dotted(parts[...n]))' is already a value (line \(table.entries[i].line)), not a table")
                }
                table = existing
            } else {
                let created = TOMLTable(origin: .dottedKey, line: part.line, column: part.column)
                table.add(part.name, line: part.line, column: part.column, .table(created))
                table = created
            }
        }
        let last = parts[parts.count - 1]
        if let i = table.index[last.name] {
            throw error(at: last.line, last.column, "key '\(dotted(parts))' appears twice (first on line \(table.entries[i].line))")
        }
        table.add(last.name, line: last.line, column: last.column, .value(value))
    }

    func dotted(_ parts: some Collection<KeyPart>) -> String {
        parts.map(\.name).joined(separator: ".")
    }

    // MARK: - Keys

    mutating func key() throws -> [KeyPart] {
        var parts = [try simpleKey()]
        while true {
            let save = (position, line, column)
            skipWhitespace()
            guard peek() == "." else { (position, line, column) = save; return parts }
            advance()
            skipWhitespace()
            parts.append(try simpleKey())
        }
    }

    mutating func simpleKey() throws -> KeyPart {
        let (l, c) = (line, column)
        switch peek() {
        case "\"":
            return KeyPart(name: try basicString(), line: l, column: c)
        case "'":
            return KeyPart(name: try literalString(), line: l, column: c)
        default:
            var name = ""
            while let ch = peek(), Self.isBareKey(ch) {
                name.unicodeScalars.append(ch)
                advance()
            }
            guard !name.isEmpty else {
                throw error("expected a key (letters, digits, '_' and '-', or a quoted key), got \(describeNext())")
            }
            return KeyPart(name: name, line: l, column: c)
        }
    }

    static func isBareKey(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
    }

    // MARK: - Values

    mutating func value() throws -> SpecNode {
        let (l, c) = (line, column)
        func at(_ kind: SpecNode.Kind) -> SpecNode { SpecNode(kind, line: l, column: c) }
        switch peek() {
        case "\"":
            if lookahead("\"\"\"") { return at(.scalar(try multilineString(quote: "\""))) }
            return at(.scalar(try basicString()))
        case "'":
            if lookahead("'''") { return at(.scalar(try multilineString(quote: "'"))) }
            return at(.scalar(try literalString()))
        case "[":
            return at(.sequence(try array()))
        case "{":
            return try inlineTable()
        case nil, "\n", "\r", "#":
            throw error("expected a value after '='")
        default:
            return at(.scalar(try bareValue(line: l, column: c)))
        }
    }

    /// Booleans and numbers. Numbers keep their decimal text (underscores removed, other
    /// bases converted), which the spec reader parses for the field's type.
    mutating func bareValue(line l: Int, column c: Int) throws -> String {
        var token = ""
        while let ch = peek(), Self.isBareKey(ch) || ch == "+" || ch == "." || ch == ":" {
            token.unicodeScalars.append(ch)
            advance()
        }
        if token == "true" || token == "false" { return token }
        if let number = Self.number(token) { return number }
        if Self.looksLikeDate(token) {
            throw error(at: l, c, "'\(token)' is a TOML date or time; no spec field takes one")
        }
        if token.isEmpty { throw error(at: l, c, "expected a value, got \(describeNext())") }
        let hint = token.unicodeScalars.allSatisfy(Self.isBareKey) ? " (strings need quotes: \"\(token)\")" : ""
        throw error(at: l, c, "'\(token)' is not a TOML value\(hint)")
    }

    static func number(_ token: String) -> String? {
        var body = Substring(token)
        var sign = ""
        if let f = body.first, f == "+" || f == "-" { sign = f == "-" ? "-" : ""; body = body.dropFirst() }
        if body == "inf" || body == "nan" { return sign + body }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where body.hasPrefix(prefix) {
            let digits = body.dropFirst(2)
            // TOML allows no sign on these and '_' only between digits.
            guard sign.isEmpty, token.first != "+", underscoresBetweenDigits(digits, radix: radix),
                  let v = Int(String(digits.filter { $0 != "_" }), radix: radix) else { return nil }
            return String(v)
        }
        guard let first = body.first, first.isASCII, first.isNumber,
              body.allSatisfy({ $0.isASCII && ($0.isNumber || "._eE+-".contains($0)) }) else { return nil }
        // The integer part: no leading zeros ("007"), as TOML requires.
        let integerPart = body.prefix { $0.isNumber || $0 == "_" }
        if integerPart.count > 1 && integerPart.first == "0" { return nil }
        let mantissaEnd = body.firstIndex { $0 == "e" || $0 == "E" } ?? body.endIndex
        let fraction = body[..<mantissaEnd].split(separator: ".", omittingEmptySubsequences: false)
        guard fraction.count <= 2, fraction.allSatisfy({ underscoresBetweenDigits($0, radix: 10) }) else { return nil }
        if mantissaEnd != body.endIndex {
            var exponent = body[body.index(after: mantissaEnd)...]
            if let f = exponent.first, f == "+" || f == "-" { exponent = exponent.dropFirst() }
            guard underscoresBetweenDigits(exponent, radix: 10) else { return nil }
        }
        let plain = sign + body.filter { $0 != "_" }
        return Int(plain) != nil || Double(plain) != nil ? plain : nil
    }

    static func underscoresBetweenDigits(_ s: Substring, radix: Int) -> Bool {
        guard !s.isEmpty, s.first != "_", s.last != "_", !s.contains("__") else { return false }
        return s.allSatisfy { $0 == "_" || $0.hexDigitValue.map { $0 < radix } == true }
    }

    static func looksLikeDate(_ token: String) -> Bool {
        let s = Array(token)
        let time = s.count >= 5 && s[0].isNumber && s[1].isNumber && s[2] == ":"
        let date = s.count >= 10 && s[4] == "-" && s[7] == "-" && s[0...3].allSatisfy(\.isNumber)
        return time || date
    }

    mutating func array() throws -> [SpecNode] {
        advance()
        var items: [SpecNode] = []
        while true {
            try skipBlank()
            if peek() == "]" { advance(); return items }
            items.append(try value())
            try skipBlank()
            switch peek() {
            case ",": advance()
            case "]": advance(); return items
            default: throw error("expected ',' or ']' in the array, got \(describeNext())")
            }
        }
    }

    /// `{ a = 1, b.c = "x" }`: on one line, complete as written.
    mutating func inlineTable() throws -> SpecNode {
        let (l, c) = (line, column)
        advance()
        let table = TOMLTable(origin: .dottedKey, line: l, column: c)
        skipWhitespace()
        if peek() == "}" { advance(); return table.node() }
        while true {
            skipWhitespace()
            try keyValue(into: table)
            skipWhitespace()
            switch peek() {
            case ",": advance()
            case "}": advance(); return table.node()
            default: throw error("expected ',' or '}' in the inline table, got \(describeNext())")
            }
        }
    }

    // MARK: - Strings

    mutating func basicString() throws -> String {
        let (l, c) = (line, column)
        advance()
        var s = ""
        while true {
            guard let ch = peek(), ch != "\n", ch != "\r" else {
                throw error(at: l, c, "string not closed on its line (a \" is missing)")
            }
            try refuseControl(ch)
            advance()
            if ch == "\"" { return s }
            if ch == "\\" { s.unicodeScalars.append(try escape()) } else { s.unicodeScalars.append(ch) }
        }
    }

    mutating func literalString() throws -> String {
        let (l, c) = (line, column)
        advance()
        var s = ""
        while true {
            guard let ch = peek(), ch != "\n", ch != "\r" else {
                throw error(at: l, c, "string not closed on its line (a ' is missing)")
            }
            try refuseControl(ch)
            advance()
            if ch == "'" { return s }
            s.unicodeScalars.append(ch)
        }
    }

    /// `"""..."""` (escapes, line-ending backslashes) or `'''...'''` (text as written).
    mutating func multilineString(quote: Unicode.Scalar) throws -> String {
        let (l, c) = (line, column)
        let delimiter = String(repeating: String(Character(quote)), count: 3)
        let escapes = quote == "\""
        advance(3)
        try skipOneNewline()
        var s = ""
        while true {
            guard let ch = peek() else { throw error(at: l, c, "string opened with \(delimiter) is not closed") }
            if lookahead(delimiter) {
                // Up to two quotes may sit right before the closing three.
                var extra = 0
                while extra < 2, position + 3 + extra < text.count, text[position + 3 + extra] == quote { extra += 1 }
                s.unicodeScalars.append(contentsOf: repeatElement(quote, count: extra))
                advance(3 + extra)
                return s
            }
            if escapes && ch == "\\" {
                advance()
                // A backslash at the end of a line joins it to the next non-blank text.
                var probe = position
                while probe < text.count, text[probe] == " " || text[probe] == "\t" { probe += 1 }
                if probe < text.count, text[probe] == "\n" || text[probe] == "\r" {
                    while let w = peek(), w == " " || w == "\t" || w == "\n" || w == "\r" {
                        if w == "\n" || w == "\r" { try newline() } else { advance() }
                    }
                } else {
                    s.unicodeScalars.append(try escape())
                }
            } else if ch == "\n" || ch == "\r" {
                try newline()
                s.append("\n")
            } else {
                try refuseControl(ch)
                advance()
                s.unicodeScalars.append(ch)
            }
        }
    }

    mutating func escape() throws -> Unicode.Scalar {
        let (l, c) = (line, column - 1)
        guard let e = peek() else { throw error(at: l, c, "unfinished escape at the end of the file") }
        advance()
        switch e {
        case "\"": return "\""
        case "\\": return "\\"
        case "b": return "\u{08}"
        case "t": return "\t"
        case "n": return "\n"
        case "f": return "\u{0C}"
        case "r": return "\r"
        case "u", "U":
            let count = e == "u" ? 4 : 8
            var hex = ""
            for _ in 0..<count {
                guard let h = peek(), h.properties.isASCIIHexDigit else {
                    throw error(at: l, c, "\\\(e) needs \(count) hex digits")
                }
                hex.unicodeScalars.append(h)
                advance()
            }
            guard let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else {
                throw error(at: l, c, "\\\(e)\(hex) is not a Unicode scalar value")
            }
            return scalar
        default:
            throw error(at: l, c, "unknown escape '\\\(e)' (valid: \\\" \\\\ \\b \\t \\n \\f \\r \\uXXXX \\UXXXXXXXX)")
        }
    }

    // MARK: - Characters, blanks and positions

    /// Strings and comments may not hold control characters other than tab (newlines
    /// are handled by their callers).
    func refuseControl(_ c: Unicode.Scalar) throws {
        if c.value < 0x20 && c != "\t" && c != "\n" && c != "\r" || c.value == 0x7F {
            throw error("control character U+\(String(format: "%04X", c.value)) is not allowed here (in a string, write it as an escape)")
        }
    }

    func peek() -> Unicode.Scalar? { position < text.count ? text[position] : nil }

    func lookahead(_ s: String) -> Bool {
        let want = Array(s.unicodeScalars)
        return position + want.count <= text.count && Array(text[position..<position + want.count]) == want
    }

    mutating func advance(_ n: Int = 1) {
        for _ in 0..<n where position < text.count {
            position += 1
            column += 1
        }
    }

    mutating func newline() throws {
        if peek() == "\r" {
            advance()
            guard peek() == "\n" else { throw error("a carriage return must be followed by a newline") }
        }
        position += 1
        line += 1
        column = 1
    }

    mutating func skipOneNewline() throws {
        if peek() == "\n" || peek() == "\r" { try newline() }
    }

    mutating func skipWhitespace() {
        while let c = peek(), c == " " || c == "\t" { advance() }
    }

    mutating func skipComment() throws {
        while let c = peek(), c != "\n", c != "\r" {
            try refuseControl(c)
            advance()
        }
    }

    /// Whitespace, newlines and comments, as allowed inside arrays.
    mutating func skipBlank() throws {
        while let c = peek() {
            if c == " " || c == "\t" { advance() } else if c == "\n" || c == "\r" { try newline() } else if c == "#" { try skipComment() } else { return }
        }
    }

    /// After a header or a key/value pair only a comment may follow on the line.
    mutating func endOfLine() throws {
        skipWhitespace()
        if peek() == "#" { try skipComment() }
        guard let c = peek() else { return }
        guard c == "\n" || c == "\r" else { throw error("expected the end of the line, got \(describeNext())") }
        try newline()
    }

    func describeNext() -> String {
        guard let c = peek() else { return "the end of the file" }
        if c == "\n" || c == "\r" { return "the end of the line" }
        return "'\(Character(c))'"
    }

    func error(_ message: String) -> SpecError { error(at: line, column, message) }

    func error(at line: Int, _ column: Int, _ message: String) -> SpecError {
        SpecError(location: "\(source):\(line):\(column)", message: "invalid TOML: \(message)")
    }
}
