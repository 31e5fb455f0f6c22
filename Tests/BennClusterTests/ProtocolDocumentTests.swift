import XCTest
@testable import BennCluster
import BennCore
import BennNN
import BennTrain
import Foundation

/// docs/PROTOCOL.md against the code: every message type and error code is documented,
/// every spec and history key is in its tables, and the example tensor list is the model's.
final class ProtocolDocumentTests: XCTestCase {
    static var document: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            return try String(contentsOf: root.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        }
    }

    /// The first cells of the rows of every table whose header's first cell is `header`,
    /// without their backticks.
    static func firstCells(ofTablesHeaded header: String, in text: String) -> [String] {
        var cells: [String] = []
        var inTable = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard line.hasPrefix("|") else { inTable = false; continue }
            let columns = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = columns.first else { continue }
            if !inTable {
                inTable = first == header
                continue
            }
            if first.hasPrefix("---") { continue }
            cells.append(first.replacingOccurrences(of: "`", with: ""))
        }
        return cells
    }

    func testEveryMessageTypeIsDocumented() throws {
        let documented = Self.firstCells(ofTablesHeaded: "type", in: try Self.document)
        XCTAssertEqual(documented.count, Set(documented).count, "a message type is listed twice: \(documented)")
        XCTAssertEqual(Set(documented), Set(MessageType.allCases.map(\.rawValue)),
                       "docs/PROTOCOL.md's message tables (first column `type`) must list exactly the message types")
        for type in MessageType.allCases {
            XCTAssertNotNil(Wire.messageTypes[type], "\(type.rawValue) has no Swift message type in Wire.messageTypes")
        }
        XCTAssertEqual(Wire.messageTypes.count, MessageType.allCases.count)
    }

    func testEveryErrorCodeIsDocumented() throws {
        let codes = Set(Self.firstCells(ofTablesHeaded: "code", in: try Self.document))
        XCTAssertEqual(codes, Set(ErrorCode.allCases.map(\.rawValue)), "docs/PROTOCOL.md's ERROR code table must list exactly the codes")
    }

    func testLimitsAreTheDocumentedOnes() throws {
        let doc = try Self.document
        XCTAssertEqual(Wire.tag, "BENN/1")
        XCTAssertEqual(Wire.maxMessageBytes, 256 << 20)
        XCTAssertEqual(Wire.maxHeaderBytes, 8 << 20)
        XCTAssertEqual(Wire.chunkBytes, 4 << 20)
        XCTAssertEqual(Wire.fetchWindow, 4)
        XCTAssertEqual(Wire.sendHighWaterMark, 16)
        for text in ["256 MiB", "8 MiB", "4 MiB", "`ZMQ_SNDHWM` = 16", "keeps 4"] { XCTAssertTrue(doc.contains(text), text) }
    }

    /// Every key of the SUBMIT spec, as `section.key` in camelCase, is a row of the spec
    /// table, with `?` exactly when it is optional.
    func testEverySpecKeyIsDocumented() throws {
        let rows = Set(Self.firstCells(ofTablesHeaded: "key", in: try Self.document))
        var keys: [(String, Bool)] = []
        func walk(_ value: Any, _ path: [String]) {
            let mirror = Mirror(reflecting: value)
            switch mirror.displayStyle {
            case .optional:
                // Unset optionals: the wrapped type is not reachable, the key is a leaf.
                keys.append((path.joined(separator: "."), true))
            case .struct:
                for child in mirror.children { walk(child.value, path + [child.label!]) }
            default:
                keys.append((path.joined(separator: "."), false))
            }
        }
        walk(TrainingSpec(), [])
        XCTAssertGreaterThan(keys.count, 40)
        for (key, optional) in keys {
            XCTAssertTrue(rows.contains(optional ? key + "?" : key), "spec key \(key)\(optional ? "?" : "") is not in docs/PROTOCOL.md's spec table")
        }
    }

    /// What the document says about decoding a spec: every key without `?` is required,
    /// optional ones may be absent, unknown ones are ignored.
    func testSpecDecodingIsAsDocumented() throws {
        guard case var .object(spec) = JSONValue.from(TrainingSpec()) else { return XCTFail() }
        func decodes(_ object: [String: JSONValue]) -> Bool {
            (try? Message(.submit, ["spec": .object(object)]).decodeField("spec", as: TrainingSpec.self)) != nil
        }
        XCTAssertTrue(decodes(spec))
        spec["unknownKey"] = .string("ignored")
        XCTAssertTrue(decodes(spec))
        var missing = spec
        missing["seed"] = nil
        XCTAssertFalse(decodes(missing), "a missing key must be refused, as documented")
        guard case var .object(train) = spec["train"] else { return XCTFail() }
        train["batchSize"] = nil
        missing = spec
        missing["train"] = .object(train)
        XCTAssertFalse(decodes(missing))
    }

    func testHistoryKeysAreDocumented() throws {
        let rows = Set(Self.firstCells(ofTablesHeaded: "key", in: try Self.document))
        let stats = try JSONDecoder().decode(EpochStats.self, from: Data("""
            {"epoch": 1, "loss": 1, "trainAccuracy": 0.5, "samplesPerSecond": 1, "seconds": 1, "learningRate": 0.1}
            """.utf8))
        for child in Mirror(reflecting: stats).children {
            let optional = Mirror(reflecting: child.value).displayStyle == .optional
            XCTAssertTrue(rows.contains(child.label! + (optional ? "?" : "")), "history key \(child.label!) is not documented")
        }
    }

    /// The document's tensor table for `tinymlp` is the model's, for 28x28 and 8x8 images.
    func testTinyMLPTensorListIsTheModels() throws {
        let doc = try Self.document
        var documented: [(String, String)] = []
        for line in doc.split(separator: "\n") where line.hasPrefix("| `l") && line.dropFirst(4).first?.isNumber == true {
            let c = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            XCTAssertEqual(c[1], "F32")
            documented.append((c[0].replacingOccurrences(of: "`", with: ""), c[2]))
        }
        for side in [28, 8] {
            var spec = TrainingSpec()
            spec.model = "tinymlp"
            let model = try Sequential(try spec.modelDescription(inputShape: [side, side, 1], classes: 10), seed: 0)
            let actual = model.namedTensors.map { ($0.name, "\($0.tensor.shape)") }
            let expected = documented.map { ($0.0, $0.1.replacingOccurrences(of: "H*W", with: "\(side * side)")) }
            XCTAssertEqual(actual.map(\.0), expected.map(\.0))
            XCTAssertEqual(actual.map(\.1), expected.map(\.1))
        }
    }
}
