import Foundation
import BennNN

/// Reads a `TrainingSpec` from YAML or TOML, rejecting unknown keys (a typo is an error that
/// names the line and suggests the nearest valid key, never a silently ignored field).
public enum SpecParser {
    /// The text formats a spec can be written in.
    public enum Format: String, Sendable {
        case yaml, toml

        /// `.toml` files are TOML; anything else is read as YAML.
        public init(path: String) {
            self = path.lowercased().hasSuffix(".toml") ? .toml : .yaml
        }
    }

    public static func load(path: String) throws -> TrainingSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError(location: path, message: FileManager.default.fileExists(atPath: path)
                            ? "cannot read the spec file" : "spec file not found")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SpecError(location: path, message: "spec file is not UTF-8 text")
        }
        return try parse(text, source: path, format: Format(path: path))
    }

    public static func parse(_ text: String, source: String = "<spec>", format: Format = .yaml) throws -> TrainingSpec {
        let root: SpecNode?
        switch format {
        case .yaml: root = try SpecNode.yaml(text, source: source)
        case .toml: root = try SpecNode.toml(text, source: source)
        }
        var spec = TrainingSpec()
        guard let root else { return spec }
        let r = Reader(source: source)
        let top = try r.mapping(root, "spec")
        try r.checkKeys(top, allowed: TrainingSpec.topLevelKeys, section: "spec")
        // The method decides which options are valid, and choosing it resets them: read first.
        for (key, value) in top where key.scalar == "method" {
            try r.set(MethodSpec.nameField.lifted(\TrainingSpec.method), value, in: &spec)
        }
        for (key, value) in top {
            let name = key.scalar ?? ""
            if name == "method" { continue }
            if let field = TrainingSpec.fieldsByKey[name] {
                try r.set(field, value, in: &spec)
                continue
            }
            let m = try r.mapping(value, name)
            if name == "method_options" {
                let method = spec.method.name
                try r.checkKeys(m, allowed: MethodSpec.optionKeys(for: method), section: "method_options (method \(method.rawValue))")
            } else {
                try r.checkKeys(m, allowed: TrainingSpec.keys(in: name), section: name)
            }
            for (k, v) in m { try r.set(TrainingSpec.fieldsByKey["\(name).\(k.scalar ?? "")"]!, v, in: &spec) }
        }
        do {
            try spec.validate()
        } catch var e as SpecError {
            e.location = source
            throw e
        }
        return spec
    }

    /// Typed access to spec nodes with errors that point at the node.
    struct Reader {
        let source: String

        typealias Mapping = [(key: SpecNode, value: SpecNode)]

        func at(_ node: SpecNode) -> String {
            guard let line = node.line, let column = node.column else { return source }
            return "\(source):\(line):\(column)"
        }

        func mapping(_ node: SpecNode, _ field: String) throws -> Mapping {
            guard let m = node.mapping else { throw SpecError(location: at(node), message: "\(field) must be a mapping of keys to values") }
            return m
        }

        func checkKeys(_ m: Mapping, allowed: [String], section: String) throws {
            var seen = Set<String>()
            for (key, _) in m {
                let k = key.scalar ?? ""
                guard allowed.contains(k) else {
                    let hint = nearest(k, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                    throw SpecError(location: at(key),
                                    message: "unknown key '\(k)' in \(section)\(hint); valid keys: \(allowed.joined(separator: ", "))")
                }
                guard seen.insert(k).inserted else { throw SpecError(location: at(key), message: "key '\(k)' appears twice in \(section)") }
            }
        }

        func scalar(_ node: SpecNode, _ field: String) throws -> String {
            guard let s = node.scalar else { throw SpecError(location: at(node), message: "\(field) must be a single value") }
            return s
        }

        func string(_ node: SpecNode, _ field: String) throws -> String { try scalar(node, field) }

        func int(_ node: SpecNode, _ field: String, min: Int) throws -> Int {
            let s = try scalar(node, field)
            guard let v = Int(s.replacingOccurrences(of: "_", with: "")) else {
                throw SpecError(location: at(node), message: "\(field) must be a whole number, got '\(s)'")
            }
            guard v >= min else { throw SpecError(location: at(node), message: "\(field) must be at least \(min), got \(v)") }
            return v
        }

        func float(_ node: SpecNode, _ field: String) throws -> Float {
            let s = try scalar(node, field)
            guard let v = Float(s), v.isFinite else { throw SpecError(location: at(node), message: "\(field) must be a number, got '\(s)'") }
            return v
        }

        func bool(_ node: SpecNode, _ field: String) throws -> Bool {
            let s = try scalar(node, field).lowercased()
            switch s {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: throw SpecError(location: at(node), message: "\(field) must be true or false, got '\(s)'")
            }
        }

        func choice(_ node: SpecNode, _ field: String, valid: [String]) throws -> String {
            let s = try scalar(node, field)
            guard valid.contains(s) else {
                let hint = nearest(s, in: valid).map { " (did you mean '\($0)'?)" } ?? ""
                throw SpecError(location: at(node), message: "\(field): unknown value '\(s)'\(hint); valid: \(valid.joined(separator: ", "))")
            }
            return s
        }

        /// The node's value as `field` types it, checked against the field's range, with
        /// errors that point at the node.
        func value<Root>(_ field: SpecField<Root>, _ node: SpecNode) throws -> SpecValue {
            let f = field.key
            func inRange(_ problem: String?) throws {
                if let problem { throw SpecError(location: at(node), message: "\(f) \(problem)") }
            }
            switch field.kind {
            case let .whole(range):
                // Below the range, the words spec files have long been told ("at least 1").
                let v = try int(node, f, min: range.lowestWhole ?? .min)
                try inRange(range.problem(v))
                return .whole(v)
            case let .real(range):
                let v = try float(node, f)
                try inRange(range.problem(v))
                return .real(v)
            case .unsigned:
                if let v = UInt64(try scalar(node, f).replacingOccurrences(of: "_", with: "")) { return .unsigned(v) }
                return .unsigned(UInt64(try int(node, f, min: 0)))
            case .flag: return .flag(try bool(node, f))
            case .text: return .text(try string(node, f))
            case let .choice(valid): return .text(try choice(node, f, valid: valid))
            }
        }

        func set<Root>(_ field: SpecField<Root>, _ node: SpecNode, in root: inout Root) throws {
            field.write(try value(field, node), to: &root)
        }
    }

    /// The allowed word within edit distance 2, if any.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var prev = Array(0...b.count)
            for i in 1...max(1, a.count) where !a.isEmpty {
                var cur = [i] + [Int](repeating: 0, count: b.count)
                for j in 1...max(1, b.count) where !b.isEmpty {
                    cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                prev = cur
            }
            return a.isEmpty ? b.count : (b.isEmpty ? a.count : prev[b.count])
        }
        let w = Array(word)
        let best = candidates.map { ($0, distance(w, Array($0))) }.min { $0.1 < $1.1 }
        return best.flatMap { $0.1 <= 2 ? $0.0 : nil }
    }
}
