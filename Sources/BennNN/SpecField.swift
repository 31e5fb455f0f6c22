/// A value a spec field holds, in the few types a spec file can write.
public enum SpecValue: Sendable, Equatable {
    case whole(Int)
    case real(Float)
    case unsigned(UInt64)
    case flag(Bool)
    /// Free text or one of a choice's words.
    case text(String)
}

/// The type of a spec field, with its range or words.
public enum SpecFieldKind: Sendable, Equatable {
    case whole(ValueRange)
    case real(ValueRange)
    case unsigned
    case flag
    case text
    /// One of these words.
    case choice([String])
}

/// One field a spec can set, declared once: the key a spec file writes, its type and range,
/// what it means, which methods take it, and how to read and write it on the struct that
/// holds it. The parser, `--set`, the allowed-key lists, `validate()`'s ranges and the
/// README's table all come from these declarations, so a field added here is everywhere.
public struct SpecField<Root>: Sendable {
    public typealias Kind = SpecFieldKind

    /// The key as a spec file writes it: `train.batch_size`, `method_options.two_step`.
    public let key: String
    public let kind: Kind
    /// What the value means and what unset means, for `benn check --schema` and the README.
    public let doc: String
    /// The methods that take this option; nil for fields outside `method_options`.
    public let methods: [MethodSpec.Name]?
    /// Whether the field may be left unset (its default then depends on other fields).
    public let optional: Bool
    private let get: @Sendable (Root) -> SpecValue?
    private let set: @Sendable (inout Root, SpecValue) -> Void

    init(_ key: String, _ kind: Kind, doc: String, methods: [MethodSpec.Name]?, optional: Bool,
         get: @escaping @Sendable (Root) -> SpecValue?, set: @escaping @Sendable (inout Root, SpecValue) -> Void) {
        (self.key, self.kind, self.doc, self.methods, self.optional, self.get, self.set) =
            (key, kind, doc, methods, optional, get, set)
    }

    /// The field's value in `root`, nil when an optional field is unset.
    public func value(in root: Root) -> SpecValue? { get(root) }

    /// Sets the field; `value` must be of the field's kind (as the spec readers make it).
    public func write(_ value: SpecValue, to root: inout Root) { set(&root, value) }

    /// The numeric range, for whole and real fields.
    public var range: ValueRange? {
        switch kind {
        case let .whole(r), let .real(r): return r
        case .unsigned, .flag, .text, .choice: return nil
        }
    }

    /// The key's last part: `batch_size` for `train.batch_size`.
    public var name: Substring { key.split(separator: ".").last ?? Substring(key) }

    /// The same field on a struct that holds `Root` at `path`, under the key `prefix.key`
    /// (the same key with no prefix).
    public func lifted<Outer>(_ path: WritableKeyPath<Outer, Root> & Sendable, prefix: String? = nil) -> SpecField<Outer> {
        let (get, set) = (self.get, self.set)
        return SpecField<Outer>(prefix.map { "\($0).\(key)" } ?? key, kind, doc: doc, methods: methods, optional: optional,
                                get: { get($0[keyPath: path]) }, set: { set(&$0[keyPath: path], $1) })
    }
}

extension SpecField {
    public static func whole(_ key: String, _ path: WritableKeyPath<Root, Int> & Sendable, _ range: ValueRange,
                             methods: [MethodSpec.Name]? = nil, _ doc: String) -> SpecField {
        SpecField(key, .whole(range), doc: doc, methods: methods, optional: false,
                  get: { .whole($0[keyPath: path]) }, set: { if case let .whole(v) = $1 { $0[keyPath: path] = v } })
    }

    public static func whole(_ key: String, _ path: WritableKeyPath<Root, Int?> & Sendable, _ range: ValueRange,
                             methods: [MethodSpec.Name]? = nil, _ doc: String) -> SpecField {
        SpecField(key, .whole(range), doc: doc, methods: methods, optional: true,
                  get: { $0[keyPath: path].map(SpecValue.whole) }, set: { if case let .whole(v) = $1 { $0[keyPath: path] = v } })
    }

    public static func real(_ key: String, _ path: WritableKeyPath<Root, Float> & Sendable, _ range: ValueRange,
                            methods: [MethodSpec.Name]? = nil, _ doc: String) -> SpecField {
        SpecField(key, .real(range), doc: doc, methods: methods, optional: false,
                  get: { .real($0[keyPath: path]) }, set: { if case let .real(v) = $1 { $0[keyPath: path] = v } })
    }

    public static func real(_ key: String, _ path: WritableKeyPath<Root, Float?> & Sendable, _ range: ValueRange,
                            methods: [MethodSpec.Name]? = nil, _ doc: String) -> SpecField {
        SpecField(key, .real(range), doc: doc, methods: methods, optional: true,
                  get: { $0[keyPath: path].map(SpecValue.real) }, set: { if case let .real(v) = $1 { $0[keyPath: path] = v } })
    }

    public static func unsigned(_ key: String, _ path: WritableKeyPath<Root, UInt64> & Sendable, _ doc: String) -> SpecField {
        SpecField(key, .unsigned, doc: doc, methods: nil, optional: false,
                  get: { .unsigned($0[keyPath: path]) }, set: { if case let .unsigned(v) = $1 { $0[keyPath: path] = v } })
    }

    public static func flag(_ key: String, _ path: WritableKeyPath<Root, Bool> & Sendable,
                            methods: [MethodSpec.Name]? = nil, _ doc: String) -> SpecField {
        SpecField(key, .flag, doc: doc, methods: methods, optional: false,
                  get: { .flag($0[keyPath: path]) }, set: { if case let .flag(v) = $1 { $0[keyPath: path] = v } })
    }

    public static func flag(_ key: String, _ path: WritableKeyPath<Root, Bool?> & Sendable,
                            methods: [MethodSpec.Name]? = nil, _ doc: String) -> SpecField {
        SpecField(key, .flag, doc: doc, methods: methods, optional: true,
                  get: { $0[keyPath: path].map(SpecValue.flag) }, set: { if case let .flag(v) = $1 { $0[keyPath: path] = v } })
    }

    public static func text(_ key: String, _ path: WritableKeyPath<Root, String> & Sendable, _ doc: String) -> SpecField {
        SpecField(key, .text, doc: doc, methods: nil, optional: false,
                  get: { .text($0[keyPath: path]) }, set: { if case let .text(v) = $1 { $0[keyPath: path] = v } })
    }

    public static func text(_ key: String, _ path: WritableKeyPath<Root, String?> & Sendable,
                            methods: [MethodSpec.Name]? = nil, _ doc: String) -> SpecField {
        SpecField(key, .text, doc: doc, methods: methods, optional: true,
                  get: { $0[keyPath: path].map(SpecValue.text) }, set: { if case let .text(v) = $1 { $0[keyPath: path] = v } })
    }

    public static func choice<T: RawRepresentable & CaseIterable & Sendable>(
        _ key: String, _ path: WritableKeyPath<Root, T> & Sendable, methods: [MethodSpec.Name]? = nil, _ doc: String
    ) -> SpecField where T.RawValue == String {
        SpecField(key, .choice(T.allCases.map(\.rawValue)), doc: doc, methods: methods, optional: false,
                  get: { .text($0[keyPath: path].rawValue) },
                  set: { if case let .text(v) = $1, let c = T(rawValue: v) { $0[keyPath: path] = c } })
    }

    public static func choice<T: RawRepresentable & CaseIterable & Sendable>(
        _ key: String, _ path: WritableKeyPath<Root, T?> & Sendable, methods: [MethodSpec.Name]? = nil, _ doc: String
    ) -> SpecField where T.RawValue == String {
        SpecField(key, .choice(T.allCases.map(\.rawValue)), doc: doc, methods: methods, optional: true,
                  get: { $0[keyPath: path].map { .text($0.rawValue) } },
                  set: { if case let .text(v) = $1, let c = T(rawValue: v) { $0[keyPath: path] = c } })
    }
}
