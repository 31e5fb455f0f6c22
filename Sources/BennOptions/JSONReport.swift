import Foundation

/// Writes `value` as pretty, key-sorted JSON (the format of every `--report` file).
public func writeJSONReport<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(value).write(to: URL(fileURLWithPath: path))
}
