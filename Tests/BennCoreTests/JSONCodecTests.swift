import BennCore
import Foundation
import XCTest

/// The JSON codec: exact integers, sorted keys, strict parsing.
final class JSONCodecTests: XCTestCase {
    func testRoundTripsAndAgreesWithFoundation() throws {
        let values: [JSONValue] = [
            .null, .bool(true), .bool(false), .int(0), .int(-1), .int(Int64.min), .int(Int64.max), .uint(UInt64.max),
            .number(0.1), .number(-2.5e-300), .number(1e300), .number(5.0), .number(-0.0), .number(123456.789),
            .string(""), .string("plain"), .string("quote \" backslash \\ slash / tab \t newline \n cr \r bell \u{07} nul \u{0}"),
            .string("unicode: é 日本 🎉"), .array([]), .object([:]),
            .object(["b": .array([.int(1), .number(2.25), .string("x"), .null]), "a": .object(["nested": .bool(true)])]),
        ]
        for v in values {
            let bytes = JSONValue.object(["v": v]).encoded()
            XCTAssertEqual(try JSONValue.decode(bytes), .object(["v": v]), String(decoding: bytes, as: UTF8.self))
            // Foundation reads what we write.
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(bytes)), String(decoding: bytes, as: UTF8.self))
        }
        // Keys are sorted, so equal values give equal bytes.
        XCTAssertEqual(String(decoding: JSONValue.object(["b": .int(1), "a": .int(2)]).encoded(), as: UTF8.self), #"{"a":2,"b":1}"#)
        // Non-finite numbers cannot be JSON.
        XCTAssertEqual(String(decoding: JSONValue.array([.number(.nan), .number(.infinity)]).encoded(), as: UTF8.self), "[null,null]")
    }

    func testReadsFoundationOutput() throws {
        let text = #" { "s" : "a\/b\u00e9\ud83c\udf89" , "n" : [ 1 , -0 , 1.5E+3 , 18446744073709551615 , 2e-3 ] , "t" : true } "#
        let v = try JSONValue.decode(Array(text.utf8))
        XCTAssertEqual(v, .object(["s": .string("a/bé🎉"), "n": .array([.int(1), .int(0), .number(1500), .uint(UInt64.max), .number(0.002)]), "t": .bool(true)]))
        // Doubles survive bit for bit through Foundation's encoder and our codec.
        var rng = SystemRandomNumberGenerator()
        let doubles = (0..<2000).map { _ in Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF) } + [Double.leastNonzeroMagnitude, .greatestFiniteMagnitude, 1 / 3]
        let decoded = try JSONValue.decode([UInt8](JSONEncoder().encode(doubles)))
        guard case let .array(items) = decoded else { return XCTFail() }
        let back = try JSONDecoder().decode([Double].self, from: Data(JSONValue.array(items).encoded()))
        XCTAssertEqual(back.map(\.bitPattern), doubles.map(\.bitPattern))
    }

    func testRefusesMalformedText() {
        let bad = ["", "{", "{\"a\":}", "[1,]", "[1 2]", "01", "1.", "-", "1e", "tru", "nul", "\"abc", "\"\\x\"", "\"\\ud800\"",
                   "\"\\udc00\"", "{\"a\" 1}", "{1:2}", "[1] x", "\"a\tb\"", String(repeating: "[", count: 100_000)]
        for text in bad {
            XCTAssertThrowsError(try JSONValue.decode(Array(text.utf8)), "accepted: \(text.prefix(40))")
        }
        XCTAssertThrowsError(try JSONValue.decode([0x22, 0xff, 0xfe, 0x22]), "invalid UTF-8")
        XCTAssertNoThrow(try JSONValue.decode(Array((String(repeating: "[", count: 500) + String(repeating: "]", count: 500)).utf8)))
    }
}
