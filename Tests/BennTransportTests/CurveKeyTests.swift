import XCTest
@testable import BennTransport

final class CurveKeyTests: XCTestCase {
    func testZ85KnownVectorAndRoundTrip() throws {
        // ZeroMQ RFC 32 test vector.
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        XCTAssertEqual(try Z85.encode(bytes), "HelloWorld")
        XCTAssertEqual(try Z85.decode("HelloWorld"), bytes)
        var random = SystemRandomNumberGenerator()
        for count in [0, 4, 32, 400] {
            var data = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            if count > 0 { data[0] = 0 }
            XCTAssertEqual(try Z85.decode(Z85.encode(data)), data)
        }
        XCTAssertThrowsError(try Z85.encode([1, 2, 3]))
        XCTAssertThrowsError(try Z85.decode("abcd"))
        XCTAssertThrowsError(try Z85.decode("~~~~~"), "invalid character")
    }

    func testKeyPairGenerationAndDerivation() throws {
        let a = try CurveKeyPair.generate()
        let b = try CurveKeyPair.generate()
        XCTAssertNotEqual(a, b)
        for key in [a.publicKey, a.secretKey] {
            XCTAssertEqual(key.count, 40)
            XCTAssertEqual(try Z85.decode(key).count, 32)
            XCTAssertTrue(CurveKeyPair.isValidKey(key))
        }
        XCTAssertEqual(try CurveKeyPair.publicKey(fromSecret: a.secretKey), a.publicKey)
        XCTAssertEqual(try CurveKeyPair(secretKey: b.secretKey), b)
        XCTAssertFalse(a.description.contains(a.secretKey), "secret key must not be printed")
        XCTAssertFalse(CurveKeyPair.isValidKey("short"))
        XCTAssertThrowsError(try CurveKeyPair(secretKey: String(a.secretKey.dropLast()) + "~"))
    }
}
