import XCTest
@testable import BennData

final class SHA256Tests: XCTestCase {
    let implementations = SHA256.Implementation.allCases.filter(\.isAvailable)

    func testKnownVectors() {
        for impl in implementations {
            func hex(_ bytes: [UInt8]) -> String { SHA256.hex(SHA256.hash(bytes, implementation: impl)) }
            XCTAssertEqual(hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "\(impl)")
            XCTAssertEqual(hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "\(impl)")
            XCTAssertEqual(hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "\(impl)")
            XCTAssertEqual(hex([UInt8](repeating: 0x61, count: 1_000_000)),
                           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "\(impl)")
        }
    }

    /// The SHA-NI path against the portable reference: every length around the block and
    /// padding boundaries, and long random inputs fed in random pieces.
    func testHardwareAgreesWithPortable() throws {
        guard SHA256.Implementation.hardware.isAvailable else { throw XCTSkip("this CPU has no SHA extensions") }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        for length in Array(0...300) + [4095, 4096, 4097, 65_537] {
            let data = (0..<length).map { _ in UInt8(truncatingIfNeeded: next()) }
            XCTAssertEqual(SHA256.hash(data, implementation: .hardware), SHA256.hash(data, implementation: .portable), "length \(length)")
        }
        let long = (0..<200_000).map { _ in UInt8(truncatingIfNeeded: next()) }
        var hw = SHA256(implementation: .hardware), portable = SHA256(implementation: .portable)
        var offset = 0
        while offset < long.count {
            let piece = min(long.count - offset, Int(next() % 5000))
            hw.update(Array(long[offset..<offset + piece]))
            portable.update(Array(long[offset..<offset + piece]))
            offset += piece
        }
        XCTAssertEqual(hw.finalize(), portable.finalize())
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
