import CBennZlib
import Foundation
import XCTest
@testable import BennData

/// A temporary directory removed when the object goes away.
final class TempDirectory {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("benn-data-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` raw to `name`; returns the path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Writes `bytes` gzip-compressed (zlib's gzwrite) to `name`; returns the path.
    @discardableResult
    func writeGzip(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = file(name)
        guard let gz = gzopen(p, "wb9") else { throw CocoaError(.fileWriteUnknown) }
        let written = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
        XCTAssertEqual(Int(written), bytes.count)
        XCTAssertEqual(gzclose(gz), Z_OK)
        return p
    }
}

/// IDX bytes: 0, 0, type, dims.count, big-endian sizes, payload.
func idx(type: UInt8 = 0x08, dims: [Int], payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0, 0, type, UInt8(dims.count)]
    for d in dims {
        out += [UInt8(truncatingIfNeeded: d >> 24), UInt8(truncatingIfNeeded: d >> 16),
                UInt8(truncatingIfNeeded: d >> 8), UInt8(truncatingIfNeeded: d)]
    }
    return out + payload
}

/// A small deterministic image set: `count` images of `height x width`, labels `i % classes`.
func makeImages(count: Int, height: Int = 4, width: Int = 5, classes: Int = 10) -> (pixels: [UInt8], labels: [UInt8]) {
    let pixels = (0..<(count * height * width)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    let labels = (0..<count).map { UInt8($0 % classes) }
    return (pixels, labels)
}

func makeSet(count: Int, height: Int = 4, width: Int = 5) throws -> LabeledImages {
    let (pixels, labels) = makeImages(count: count, height: height, width: width)
    return try LabeledImages(height: height, width: width, pixels: pixels, labels: labels,
                             classNames: FashionMNIST.classNames)
}

/// Runs `body`, expecting it to throw an `IDXError`, and returns it.
func expectIDXError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> IDXError? {
    do {
        _ = try body()
        XCTFail("expected an IDXError, got success", file: file, line: line)
    } catch let error as IDXError {
        return error
    } catch {
        XCTFail("expected an IDXError, got \(error)", file: file, line: line)
    }
    return nil
}

/// Runs `body`, expecting it to throw a `DatasetError`, and returns it.
func expectDatasetError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> DatasetError? {
    do {
        _ = try body()
        XCTFail("expected a DatasetError, got success", file: file, line: line)
    } catch let error as DatasetError {
        return error
    } catch {
        XCTFail("expected a DatasetError, got \(error)", file: file, line: line)
    }
    return nil
}
