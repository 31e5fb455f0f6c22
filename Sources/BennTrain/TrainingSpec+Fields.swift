extension TrainingSpec {
    /// The spec's values by the key a spec file gives them (`method_options.two_step`), from
    /// `schema`; unset optionals are left out, choices are written as a spec file writes them.
    public var fieldsBySpecKey: [String: String] {
        Dictionary(uniqueKeysWithValues: Self.schema.compactMap { field in field.value(in: self).map { (field.key, $0.text) } })
    }

    /// Every key a spec has, set or not, in the order a spec file lists them.
    public static let specKeys: [String] = schema.map(\.key).sorted(by: specKeyOrder)

    /// Where `other` differs from this spec, as "key is other's value, <thisName> this value",
    /// in spec-file keys and the order a spec file lists them; "unset" for an unset option.
    public func differences(in other: TrainingSpec, calling thisName: String) -> [String] {
        Self.differences(other.fieldsBySpecKey, from: fieldsBySpecKey, calling: thisName)
    }

    /// `differences(in:calling:)` on fields already read, `mine` being `thisName`'s.
    public static func differences(_ theirs: [String: String], from mine: [String: String], calling thisName: String) -> [String] {
        Set(mine.keys).union(theirs.keys).sorted(by: specKeyOrder).compactMap { key in
            mine[key] == theirs[key] ? nil : "\(key) is \(theirs[key] ?? "unset"), \(thisName) \(mine[key] ?? "unset")"
        }
    }

    /// The model and method first, then the sections in the order a spec file lists them.
    static func specKeyOrder(_ a: String, _ b: String) -> Bool {
        let sections = topLevelKeys
        func rank(_ key: String) -> Int {
            sections.firstIndex(of: String(key.prefix { $0 != "." })) ?? sections.count
        }
        return (rank(a), a) < (rank(b), b)
    }

    /// Every stored property's key and value, found by reflection: the check (in the tests)
    /// that `schema` declares every field the struct has.
    static func reflectedFields(of spec: TrainingSpec) -> [(key: String, value: String?)] {
        var fields: [(key: String, value: String?)] = []
        walk(spec, []) { fields.append(($0, $1)) }
        return fields
    }

    /// Calls `visit` with each leaf's spec key and value (nil for an unset optional).
    private static func walk(_ value: Any, _ path: [String], _ visit: (String, String?) -> Void) {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            if let wrapped = mirror.children.first { walk(wrapped.value, path, visit) } else { visit(specKey(path), nil) }
        case .struct:
            for child in mirror.children { walk(child.value, path + [child.label ?? "?"], visit) }
        default:
            if let choice = value as? any RawRepresentable { visit(specKey(path), "\(choice.rawValue)") }
            else { visit(specKey(path), "\(value)") }
        }
    }

    /// `["method", "name"]` is the spec file's `method`, `["method", "twoStep"]` its
    /// `method_options.two_step`; other keys are the properties' names in snake case.
    static func specKey(_ path: [String]) -> String {
        let abbreviations = ["ede_minimum_temperature": "ede_min_temperature", "ede_maximum_temperature": "ede_max_temperature"]
        func snake(_ name: String) -> String {
            let s = name.reduce(into: "") { out, c in
                if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
            }
            return abbreviations[s] ?? s
        }
        if path == ["method", "name"] { return "method" }
        if path.first == "method" { return (["method_options"] + path.dropFirst().map(snake)).joined(separator: ".") }
        return path.map(snake).joined(separator: ".")
    }
}
