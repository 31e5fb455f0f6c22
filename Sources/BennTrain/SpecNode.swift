/// A spec document as a tree, whichever format it was written in (YAML or TOML), with the
/// line and column of every node so that errors found while reading the spec's meaning
/// point at the text that caused them.
public struct SpecNode: Sendable {
    public enum Kind: Sendable {
        /// A single value kept as written (numbers and booleans are parsed by the reader
        /// that knows which field wants which type).
        case scalar(String)
        case mapping([(key: SpecNode, value: SpecNode)])
        case sequence([SpecNode])
        /// A construct a spec never uses (a YAML alias); every typed read rejects it.
        case unsupported
    }

    public var kind: Kind
    /// 1-based line and column, nil when the format gave no position.
    public var line: Int?
    public var column: Int?

    public init(_ kind: Kind, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    public var scalar: String? {
        if case .scalar(let s) = kind { return s }
        return nil
    }

    public var mapping: [(key: SpecNode, value: SpecNode)]? {
        if case .mapping(let m) = kind { return m }
        return nil
    }
}
