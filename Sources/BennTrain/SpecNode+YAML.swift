import Yams

extension SpecNode {
    /// Parses YAML text; nil for an empty document. Syntax errors name the line and column.
    static func yaml(_ text: String, source: String) throws -> SpecNode? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let YamlError.scanner(_, problem, mark, _), let YamlError.parser(_, problem, mark, _) {
            throw SpecError(location: "\(source):\(mark.line):\(mark.column)", message: "YAML syntax error: \(problem)")
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            throw SpecError(location: "\(source):\(context.mark.line):\(context.mark.column)",
                            message: "key '\(duplicates.sorted().joined(separator: "', '"))' appears twice")
        } catch {
            let firstLine = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw SpecError(location: source, message: "YAML error: \(firstLine)")
        }
        return root.map(SpecNode.init(yaml:))
    }

    init(yaml node: Node) {
        let kind: Kind
        switch node {
        case .scalar(let s): kind = .scalar(s.string)
        case .mapping(let m): kind = .mapping(m.map { (key: SpecNode(yaml: $0.key), value: SpecNode(yaml: $0.value)) })
        case .sequence(let s): kind = .sequence(s.map(SpecNode.init(yaml:)))
        case .alias: kind = .unsupported
        }
        self.init(kind, line: node.mark?.line, column: node.mark?.column)
    }
}
