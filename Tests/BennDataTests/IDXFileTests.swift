import XCTest
@testable import BennData

final class IDXFileTests: XCTestCase {
    let payload: [UInt8] = (0..<60).map { UInt8($0 * 4) }  // 3 images of 4x5

    func testRawRoundTrip() throws {
        let dir = try TempDirectory()
        let p = try dir.write("img-idx3-ubyte", idx(dims: [3, 4, 5], payload: payload))
        let f = try IDXFile(path: p, expecting: .images)
        XCTAssertEqual(f.dims, [3, 4, 5])
        XCTAssertEqual(f.bytes, payload)
        XCTAssertEqual(f.magic, 0x0803)
        XCTAssertEqual(f.path, p)
    }

    func testGzipRoundTrip() throws {
        let dir = try TempDirectory()
        let big: [UInt8] = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) }
        let p = try dir.writeGzip("img-idx3-ubyte.gz", idx(dims: [2000, 10, 10], payload: big))
        let raw = try Data(contentsOf: URL(fileURLWithPath: p))
        XCTAssertEqual(Array(raw.prefix(2)), [0x1F, 0x8B])
        XCTAssertLessThan(raw.count, big.count)
        let f = try IDXFile(path: p, expecting: .images)
        XCTAssertEqual(f.dims, [2000, 10, 10])
        XCTAssertEqual(f.bytes, big)
    }

    func testGzipDetectedByMagicNotName() throws {
        let dir = try TempDirectory()
        let p = try dir.writeGzip("labels-no-extension", idx(dims: [4], payload: [1, 2, 3, 4]))
        XCTAssertEqual(try IDXFile(path: p, expecting: .labels).bytes, [1, 2, 3, 4])
    }

    func testConcatenatedGzipMembers() throws {
        let dir = try TempDirectory()
        let whole = idx(dims: [6], payload: [1, 2, 3, 4, 5, 6])
        let a = try dir.writeGzip("a.gz", Array(whole[..<7]))
        let b = try dir.writeGzip("b.gz", Array(whole[7...]))
        let joined = try Array(Data(contentsOf: URL(fileURLWithPath: a))) + Array(Data(contentsOf: URL(fileURLWithPath: b)))
        let p = try dir.write("joined.gz", joined)
        XCTAssertEqual(try IDXFile(path: p).bytes, [1, 2, 3, 4, 5, 6])
    }

    func testUntypedReadAcceptsAnyDimensionCount() throws {
        let dir = try TempDirectory()
        let p = try dir.write("x", idx(dims: [2, 3], payload: [1, 2, 3, 4, 5, 6]))
        let f = try IDXFile(path: p)
        XCTAssertEqual(f.dims, [2, 3])
        XCTAssertEqual(f.magic, 0x0802)
    }

    func testEmptyPayloadIsValid() throws {
        let dir = try TempDirectory()
        let p = try dir.write("x", idx(dims: [0, 28, 28], payload: []))
        XCTAssertEqual(try IDXFile(path: p, expecting: .images).bytes, [])
    }

    func testTruncatedRawFile() throws {
        let dir = try TempDirectory()
        let full = idx(dims: [3, 4, 5], payload: payload)
        let p = try dir.write("trunc-idx3-ubyte", Array(full.dropLast(7)))
        let error = expectIDXError { try IDXFile(path: p, expecting: .images) }
        XCTAssertEqual(error, .payloadSizeMismatch(path: p, expected: 60, actual: 53))
        XCTAssertTrue(error?.description.contains(p) ?? false)
        XCTAssertTrue(error?.description.contains("60") ?? false)
        XCTAssertTrue(error?.description.contains("53") ?? false)
        XCTAssertTrue(error?.description.contains("truncated") ?? false)
    }

    func testTruncatedHeader() throws {
        let dir = try TempDirectory()
        let p = try dir.write("short", [0, 0, 8, 3, 0, 0, 0, 3, 0, 0])
        guard case .invalidHeader(let path, _)? = expectIDXError({ try IDXFile(path: p) }) else {
            return XCTFail("expected invalidHeader")
        }
        XCTAssertEqual(path, p)
        let empty = try dir.write("empty", [])
        guard case .invalidHeader? = expectIDXError({ try IDXFile(path: empty) }) else {
            return XCTFail("expected invalidHeader for an empty file")
        }
    }

    func testTrailingBytes() throws {
        let dir = try TempDirectory()
        let p = try dir.write("long", idx(dims: [3, 4, 5], payload: payload + [9, 9]))
        let error = expectIDXError { try IDXFile(path: p, expecting: .images) }
        XCTAssertEqual(error, .payloadSizeMismatch(path: p, expected: 60, actual: 62))
        XCTAssertTrue(error?.description.contains("trailing") ?? false)
        XCTAssertTrue(error?.description.contains(p) ?? false)
    }

    func testTruncatedGzip() throws {
        let dir = try TempDirectory()
        let big: [UInt8] = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        let good = try dir.writeGzip("good.gz", idx(dims: [500, 10, 10], payload: big))
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: good)))
        let p = try dir.write("cut-idx3-ubyte.gz", Array(bytes[..<(bytes.count / 2)]))
        guard case .corruptGzip(let path, let reason)? = expectIDXError({ try IDXFile(path: p, expecting: .images) }) else {
            return XCTFail("expected corruptGzip")
        }
        XCTAssertEqual(path, p)
        XCTAssertTrue(reason.contains("truncated"), reason)
        // Missing only the 8-byte trailer is still a truncated stream.
        let q = try dir.write("no-trailer.gz", Array(bytes.dropLast(8)))
        guard case .corruptGzip? = expectIDXError({ try IDXFile(path: q) }) else {
            return XCTFail("expected corruptGzip without trailer")
        }
    }

    func testCorruptGzipData() throws {
        let dir = try TempDirectory()
        let good = try dir.writeGzip("good.gz", idx(dims: [100], payload: [UInt8](repeating: 3, count: 100)))
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: good)))
        bytes[bytes.count - 6] ^= 0xFF  // damage the CRC / length trailer
        let p = try dir.write("bad.gz", bytes)
        guard case .corruptGzip(let path, _)? = expectIDXError({ try IDXFile(path: p) }) else {
            return XCTFail("expected corruptGzip")
        }
        XCTAssertEqual(path, p)
    }

    func testWrongMagic() throws {
        let dir = try TempDirectory()
        let p = try dir.write("text.txt", Array("hello, not an IDX file".utf8))
        let error = expectIDXError { try IDXFile(path: p, expecting: .images) }
        XCTAssertEqual(error, .wrongMagic(path: p, found: Array("hell".utf8), expected: 0x0803))
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains(p))
        XCTAssertTrue(text.contains("0x68 0x65 0x6C 0x6C"), text)
        XCTAssertTrue(text.contains("0x00000803"), text)
        XCTAssertTrue(text.contains("0x00000801"), text)
    }

    func testUnsupportedType() throws {
        let dir = try TempDirectory()
        let p = try dir.write("floats", idx(type: 0x0D, dims: [1], payload: [0, 0, 0, 0]))
        let error = expectIDXError { try IDXFile(path: p) }
        XCTAssertEqual(error, .unsupportedType(path: p, typeCode: 0x0D))
        XCTAssertTrue(error?.description.contains("float") ?? false)
    }

    func testWrongDimensionCount() throws {
        let dir = try TempDirectory()
        let labels = try dir.write("labels", idx(dims: [3], payload: [1, 2, 3]))
        let error = expectIDXError { try IDXFile(path: labels, expecting: .images) }
        XCTAssertEqual(error, .wrongDimensionCount(path: labels, found: 1, expected: 3))
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains(labels) && text.contains("0x00000801") && text.contains("0x00000803"), text)
        let images = try dir.write("images", idx(dims: [3, 4, 5], payload: payload))
        XCTAssertEqual(expectIDXError { try IDXFile(path: images, expecting: .labels) },
                       .wrongDimensionCount(path: images, found: 3, expected: 1))
    }

    func testMissingFile() throws {
        let dir = try TempDirectory()
        let p = dir.file("nope-idx3-ubyte.gz")
        let error = expectIDXError { try IDXFile(path: p) }
        XCTAssertEqual(error, .fileNotFound(path: p))
        XCTAssertTrue(error?.description.contains(p) ?? false)
    }

    func testDirectoryIsUnreadable() throws {
        let dir = try TempDirectory()
        guard case .unreadable(let path, _)? = expectIDXError({ try IDXFile(path: dir.path) }) else {
            return XCTFail("expected unreadable")
        }
        XCTAssertEqual(path, dir.path)
    }
}
