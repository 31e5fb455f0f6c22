import XCTest
@testable import BennData

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hexDigest([]),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hexDigest(Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hexDigest([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testIncrementalEqualsOneShotAtEveryBoundary() {
        let data: [UInt8] = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 13) }
        let expected = SHA256.hash(data)
        for cut in [0, 1, 55, 56, 63, 64, 65, 128, 299, 300] {
            var h = SHA256()
            h.update(Array(data[..<cut]))
            h.update(Array(data[cut...]))
            XCTAssertEqual(h.finalize(), expected, "cut at \(cut)")
        }
        var bytewise = SHA256()
        for b in data { bytewise.update([b]) }
        XCTAssertEqual(bytewise.finalize(), expected)
    }
}
