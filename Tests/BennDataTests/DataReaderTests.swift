import BennRandom
import Foundation
import XCTest
@testable import BennData

/// The message of the `DataFileError` (or other error) `body` throws.
func dataError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        _ = try body()
        XCTFail("expected an error", file: file, line: line)
        return ""
    } catch {
        return "\(error)"
    }
}

final class ColourImageTests: XCTestCase {
    func testChannelsShapeAndSizes() throws {
        let s = try LabeledImages(height: 2, width: 3, channels: 3, pixels: Array(0..<36), labels: [0, 1], classNames: ["a", "b"])
        XCTAssertEqual(s.imageShape, [2, 3, 3])
        XCTAssertEqual(s.pixelsPerImage, 18)
        let bad = dataError { try LabeledImages(height: 2, width: 3, channels: 3, pixels: Array(0..<35), labels: [0, 1], classNames: ["a", "b"]) }
        XCTAssertEqual(bad, "inconsistent image data: 2 labels need 36 pixels (2x3x3 each), got 35")
        XCTAssertNotNil(try? LabeledImages(height: 2, width: 3, pixels: Array(0..<12), labels: [0, 1], classNames: ["a", "b"]))
        // Grey sets keep the v1 hash; colour sets hash their channel count.
        let grey = try LabeledImages(height: 2, width: 9, pixels: Array(0..<36), labels: [0, 1], classNames: ["a", "b"])
        XCTAssertNotEqual(grey.contentHash, s.contentHash)
        var v1 = SHA256()
        v1.update("benn.LabeledImages.v1")
        for n in [2, 2, 9, 2] { v1.update(littleEndian: UInt64(n)) }
        for name in ["a", "b"] { v1.update(littleEndian: UInt64(1)); v1.update(Array(name.utf8)) }
        v1.update(Array(0..<36) as [UInt8]); v1.update([0, 1] as [UInt8])
        XCTAssertEqual(grey.contentHash, SHA256.hex(v1.finalize()))
    }

    /// Crop with padding and flip on HWC images of several shapes, against plain loops over
    /// (y, x, c) with the same draws.
    func testAugmentationMatchesReferenceLoops() throws {
        for (h, w, c) in [(5, 7, 3), (4, 4, 1), (6, 3, 2), (32, 32, 3)] {
            let count = 6
            let pixels = (0..<(count * h * w * c)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
            let set = try LabeledImages(height: h, width: w, channels: c, pixels: pixels,
                                        labels: [UInt8](repeating: 0, count: count), classNames: ["x"])
            let padding = 2
            let augmentations: [Augmentation] = [.randomCrop(padding: padding), .horizontalFlip]
            var out = [Float](repeating: 0, count: count * set.pixelsPerImage)
            var rng = SeededGenerator(seed: 42)
            try out.withUnsafeMutableBufferPointer {
                try set.fillInputs(indices: Array(0..<count), into: $0.baseAddress!, augmentations: augmentations, rng: &rng)
            }
            var ref = SeededGenerator(seed: 42)
            for i in 0..<count {
                let dy = ref.nextInt(below: 2 * padding + 1) - padding
                let dx = ref.nextInt(below: 2 * padding + 1) - padding
                let flip = ref.nextInt(below: 2) == 1
                for y in 0..<h {
                    for x in 0..<w {
                        for ch in 0..<c {
                            let fx = flip ? w - 1 - x : x
                            let (sy, sx) = (y + dy, fx + dx)
                            let byte: UInt8 = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? pixels[((i * h + sy) * w + sx) * c + ch] : 0
                            XCTAssertEqual(out[((i * h + y) * w + x) * c + ch], PixelScaling.scale(byte),
                                           "image \(i) y \(y) x \(x) c \(ch) of \(h)x\(w)x\(c)")
                        }
                    }
                }
            }
        }
    }

    func testBatchesCarryTheChannels() throws {
        let set = try LabeledImages(height: 2, width: 2, channels: 3, pixels: Array(0..<36), labels: [0, 1, 0], classNames: ["a", "b"])
        var rng = SeededGenerator(seed: 1)
        let batches = try DatasetView.all(set).batches(batchSize: 2, shuffle: false, rng: &rng)
        let first = batches[0]
        XCTAssertEqual(first.channels, 3)
        XCTAssertEqual(first.inputs, (0..<24).map { PixelScaling.scale(UInt8($0)) })
    }
}

final class CIFARTests: XCTestCase {
    func testCIFAR10ReadsRecordsAsHWC() throws {
        let dir = try TempDirectory()
        let written = try writeCIFAR10(dir, trainBatches: 2, perBatch: 3, test: 2)
        let (train, test) = try CIFAR.loadCIFAR10(directory: dir.path)
        XCTAssertEqual(train.imageShape, [32, 32, 3])
        XCTAssertEqual(train.count, 6)
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(train.pixels, written.train.flatMap(\.0))
        XCTAssertEqual(train.labels, written.train.map(\.1))
        XCTAssertEqual(test.pixels, written.test.flatMap(\.0))
        XCTAssertEqual(train.classNames, CIFAR.cifar10ClassNames)
        // The record layout by hand: byte 1 + p is red of pixel p, 1 + 1024 + p green.
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("data_batch_1.bin"))))
        XCTAssertEqual(raw.count, 3 * 3073)
        XCTAssertEqual(raw[0], 0)
        XCTAssertEqual(train.pixels[5 * 3 + 1], raw[1 + 1024 + 5])
        XCTAssertEqual(try DataFormat.guess(directory: dir.path), .cifar10)
        XCTAssertEqual(try DataFormat.cifar10.files(directory: dir.path).map { ($0 as NSString).lastPathComponent },
                       ["data_batch_1.bin", "data_batch_2.bin", "test_batch.bin"])
    }

    func testCIFAR10MetaNames() throws {
        let dir = try TempDirectory()
        try writeCIFAR10(dir, meta: true)
        XCTAssertEqual(try CIFAR.loadCIFAR10(directory: dir.path).train.classNames, CIFAR.cifar10ClassNames.map { $0.uppercased() })
        XCTAssertEqual(try DataFormat.cifar10.files(directory: dir.path).last.map { ($0 as NSString).lastPathComponent }, "batches.meta.txt")
        try dir.write("batches.meta.txt", Array("a\nb\n".utf8))
        XCTAssertEqual(dataError { try CIFAR.loadCIFAR10(directory: dir.path) },
                       "\(dir.file("batches.meta.txt")): 2 class names, expected 10 (one a line)")
    }

    func testCIFAR10BadFiles() throws {
        let dir = try TempDirectory()
        try writeCIFAR10(dir, trainBatches: 1, perBatch: 2, test: 2)
        let testBatch = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("test_batch.bin"))))
        try dir.write("test_batch.bin", Array(testBatch.dropLast(100)))
        XCTAssertEqual(dataError { try CIFAR.loadCIFAR10(directory: dir.path) },
                       "\(dir.file("test_batch.bin")): truncated batch file: 6046 bytes is 1 whole 3073-byte records and 2973 bytes over")
        var bad = testBatch
        bad[3073] = 10
        try dir.write("test_batch.bin", bad)
        XCTAssertEqual(dataError { try CIFAR.loadCIFAR10(directory: dir.path) },
                       "\(dir.file("test_batch.bin")): label 10 of record 1 is out of range 0..<10")
        try dir.write("test_batch.bin", [])
        XCTAssertEqual(dataError { try CIFAR.loadCIFAR10(directory: dir.path) },
                       "\(dir.file("test_batch.bin")): empty file: no 3073-byte records")
        try FileManager.default.removeItem(atPath: dir.file("test_batch.bin"))
        XCTAssertEqual(dataError { try CIFAR.loadCIFAR10(directory: dir.path) },
                       "\(dir.file("test_batch.bin")): file not found (the CIFAR-10 test batch)")
        try FileManager.default.removeItem(atPath: dir.file("data_batch_1.bin"))
        XCTAssertEqual(dataError { try CIFAR.loadCIFAR10(directory: dir.path) },
                       "\(dir.path): no CIFAR-10 training batch (data_batch_1.bin) in the directory")
        // An unreadable file is named.
        try FileManager.default.createDirectory(atPath: dir.file("data_batch_1.bin"), withIntermediateDirectories: false)
        try dir.write("test_batch.bin", testBatch)
        XCTAssertEqual(dataError { try CIFAR.loadCIFAR10(directory: dir.path) },
                       "\(dir.file("data_batch_1.bin")): cannot read the file: it is a directory")
    }

    func testCIFAR100FineAndCoarse() throws {
        let dir = try TempDirectory()
        var train: [UInt8] = [], images: [[UInt8]] = []
        for i in 0..<4 {
            images.append(cifarImage(i))
            train += cifarRecord(labels: [UInt8(i % 20), UInt8(99 - i)], hwc: images[i])
        }
        try dir.write("train.bin", train)
        try dir.write("test.bin", cifarRecord(labels: [19, 0], hwc: cifarImage(9)))
        XCTAssertEqual(try DataFormat.guess(directory: dir.path), .cifar100)
        let fine = try CIFAR.loadCIFAR100(directory: dir.path, labels: .fine)
        XCTAssertEqual(fine.train.labels, [99, 98, 97, 96])
        XCTAssertEqual(fine.train.classCount, 100)
        XCTAssertEqual(fine.train.classNames[99], "worm")
        XCTAssertEqual(fine.train.pixels, images.flatMap { $0 })
        XCTAssertEqual(fine.test.labels, [0])
        let coarse = try CIFAR.loadCIFAR100(directory: dir.path, labels: .coarse)
        XCTAssertEqual(coarse.train.labels, [0, 1, 2, 3])
        XCTAssertEqual(coarse.test.labels, [19])
        XCTAssertEqual(coarse.train.classNames.count, 20)
        XCTAssertEqual(CIFAR.cifar100FineClassNames.count, 100)
        XCTAssertEqual(Set(CIFAR.cifar100FineClassNames).count, 100)
        // Label-name files, when present.
        try dir.write("coarse_label_names.txt", Array(((0..<20).map { "c\($0)" }.joined(separator: "\n") + "\n\n").utf8))
        XCTAssertEqual(try CIFAR.loadCIFAR100(directory: dir.path, labels: .coarse).train.classNames[3], "c3")
        XCTAssertEqual(try DataFormat.cifar100.files(directory: dir.path).map { ($0 as NSString).lastPathComponent },
                       ["train.bin", "test.bin", "coarse_label_names.txt"])
        // Bad files.
        try dir.write("test.bin", cifarRecord(labels: [3, 100], hwc: cifarImage(9)))
        XCTAssertEqual(dataError { try CIFAR.loadCIFAR100(directory: dir.path, labels: .fine) },
                       "\(dir.file("test.bin")): fine label 100 of record 0 is out of range 0..<100")
        try dir.write("test.bin", cifarRecord(labels: [20, 1], hwc: cifarImage(9)))
        XCTAssertEqual(dataError { try CIFAR.loadCIFAR100(directory: dir.path, labels: .coarse) },
                       "\(dir.file("test.bin")): coarse label 20 of record 0 is out of range 0..<20")
        try dir.write("train.bin", Array(train.dropLast()))
        XCTAssertEqual(dataError { try CIFAR.loadCIFAR100(directory: dir.path, labels: .fine) },
                       "\(dir.file("train.bin")): truncated batch file: 12295 bytes is 3 whole 3074-byte records and 3073 bytes over")
    }
}

final class NumPyTests: XCTestCase {
    /// `numpy.save` output (NumPy 2.4) of `np.arange(36, dtype=np.uint8).reshape(2, 2, 3, 3)`
    /// and of `np.array([1, 0], dtype=np.int64)`.
    static let numpyX = "934e554d5059010076007b276465736372273a20277c7531272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c20322c20332c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
    static let numpyY = "934e554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a01000000000000000000000000000000"

    /// `numpy.savez` (stored) and `numpy.savez_compressed` (deflated) of x_train (the array
    /// above), y_train (int64 [1, 0]), x_test (uint8, shape (1, 2, 3, 3): 9...1, 0...8) and
    /// y_test (uint8 [2]), as NumPy 2.4 writes them (zip64 local headers).
    static let numpyNPZ = "UEsDBC0AAAAAAAAAIQCB5b/L//////////8LABQAeF90cmFpbi5ucHkBABAApAAAAAAAAACkAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJ3x1MScsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCAyLCAzLCAzKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjUEsDBC0AAAAAAAAAIQBx+zmr//////////8LABQAeV90cmFpbi5ucHkBABAAkAAAAAAAAACQAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxpOCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAQAAAAAAAAAAAAAAAAAAAFBLAwQtAAAAAAAAACEAAeU1+P//////////CgAUAHhfdGVzdC5ucHkBABAAkgAAAAAAAACSAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJ3x1MScsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgxLCAyLCAzLCAzKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKCQgHBgUEAwIBAAECAwQFBgcIUEsDBC0AAAAAAAAAIQDB469Z//////////8KABQAeV90ZXN0Lm5weQEAEACBAAAAAAAAAIEAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoCUEsBAi0DLQAAAAAAAAAhAIHlv8ukAAAApAAAAAsAAAAAAAAAAAAAAIABAAAAAHhfdHJhaW4ubnB5UEsBAi0DLQAAAAAAAAAhAHH7OauQAAAAkAAAAAsAAAAAAAAAAAAAAIAB4QAAAHlfdHJhaW4ubnB5UEsBAi0DLQAAAAAAAAAhAAHlNfiSAAAAkgAAAAoAAAAAAAAAAAAAAIABrgEAAHhfdGVzdC5ucHlQSwECLQMtAAAAAAAAACEAweOvWYEAAACBAAAACgAAAAAAAAAAAAAAgAF8AgAAeV90ZXN0Lm5weVBLBQYAAAAABAAEAOIAAAA5AwAAAAA="
    static let numpyNPZCompressed = "UEsDBC0AAAAIAAAAIQCB5b/L//////////8LABQAeF90cmFpbi5ucHkBABAApAAAAAAAAABtAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loF5Taqiuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6CkBkDESaOgq1CmQALgZGJmYWVjZ2Dk4ubh5ePn4BQSFhEVExcQlJKWkZWTl5BUUlZQBQSwMELQAAAAgAAAAhAHH7Oav//////////wsAFAB5X3RyYWluLm5weQEAEACQAAAAAAAAAEgAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpNpoa6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaRjqaOgq1ChQALkYGVAAAUEsDBC0AAAAIAAAAIQAB5TX4//////////8KABQAeF90ZXN0Lm5weQEAEACSAAAAAAAAAF0AAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgXlNqqK6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkahjoKRjoKxkCkqaNQq0AG4OLkYGdjZWFmYmRgZGJmYWVj5wAAUEsDBC0AAAAIAAAAIQDB469Z//////////8KABQAeV90ZXN0Lm5weQEAEACBAAAAAAAAAEUAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgXlNqqK6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkahjqaOgq1ChQALiYAUEsBAi0DLQAAAAgAAAAhAIHlv8ttAAAApAAAAAsAAAAAAAAAAAAAAIABAAAAAHhfdHJhaW4ubnB5UEsBAi0DLQAAAAgAAAAhAHH7OatIAAAAkAAAAAsAAAAAAAAAAAAAAIABqgAAAHlfdHJhaW4ubnB5UEsBAi0DLQAAAAgAAAAhAAHlNfhdAAAAkgAAAAoAAAAAAAAAAAAAAIABLwEAAHhfdGVzdC5ucHlQSwECLQMtAAAACAAAACEAweOvWUUAAACBAAAACgAAAAAAAAAAAAAAgAHIAQAAeV90ZXN0Lm5weVBLBQYAAAAABAAEAOIAAABJAgAAAAA="

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    let xTrain = npy(descr: "|u1", shape: [2, 2, 3, 3], data: Array(0..<36))
    let yTrain = npy(descr: "<i8", shape: [2], data: littleEndian([1, 0], size: 8))
    let xTest = npy(descr: "|u1", shape: [1, 2, 3, 3], data: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8])
    let yTest = npy(descr: "|u1", shape: [1], data: [2])

    func testWriterIsByteForByteNumpySave() {
        XCTAssertEqual(xTrain, Self.hex(Self.numpyX))
        XCTAssertEqual(yTrain, Self.hex(Self.numpyY))
        XCTAssertEqual(xTrain.count % 64, 36 % 64)  // header padded to 128 bytes
    }

    func check(_ sets: (train: LabeledImages, test: LabeledImages), file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(sets.train.imageShape, [2, 3, 3], file: file, line: line)
        XCTAssertEqual(sets.train.pixels, Array(0..<36), file: file, line: line)
        XCTAssertEqual(sets.train.labels, [1, 0], file: file, line: line)
        XCTAssertEqual(sets.test.pixels, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8], file: file, line: line)
        XCTAssertEqual(sets.test.labels, [2], file: file, line: line)
        XCTAssertEqual(sets.train.classNames, ["0", "1", "2"], file: file, line: line)
    }

    func testNPYDirectory() throws {
        let dir = try TempDirectory()
        for (name, bytes) in zip(NumPy.arrayNames, [xTrain, yTrain, xTest, yTest]) { try dir.write("\(name).npy", bytes) }
        XCTAssertEqual(try DataFormat.guess(directory: dir.path), .npy)
        check(try NumPy.loadNPY(directory: dir.path))
        XCTAssertEqual(try DataFormat.npy.files(directory: dir.path).count, 4)
        // Version 2.0 headers, (N, H, W) grey images and other integer label types.
        try dir.write("x_train.npy", npy(descr: "|u1", shape: [2, 2, 9], data: Array(0..<36), version: 2))
        try dir.write("x_test.npy", npy(descr: "|u1", shape: [1, 2, 9], data: Array(0..<18)))
        try dir.write("y_train.npy", npy(descr: "<i4", shape: [2], data: littleEndian([4, 1], size: 4)))
        try dir.write("y_test.npy", npy(descr: "<u2", shape: [1, 1], data: littleEndian([3], size: 2)))
        let grey = try NumPy.loadNPY(directory: dir.path)
        XCTAssertEqual(grey.train.imageShape, [2, 9, 1])
        XCTAssertEqual(grey.train.labels, [4, 1])
        XCTAssertEqual(grey.test.labels, [3])
        XCTAssertEqual(grey.train.classCount, 5)
    }

    func testNPYBadFiles() throws {
        let dir = try TempDirectory()
        for (name, bytes) in zip(NumPy.arrayNames, [xTrain, yTrain, xTest, yTest]) { try dir.write("\(name).npy", bytes) }
        let x = dir.file("x_train.npy"), y = dir.file("y_train.npy"), xt = dir.file("x_test.npy")
        func expect(_ name: String, _ bytes: [UInt8], _ message: String, line: UInt = #line) throws {
            let saved = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file(name))))
            try dir.write(name, bytes)
            XCTAssertEqual(dataError { try NumPy.loadNPY(directory: dir.path) }, message, line: line)
            try dir.write(name, saved)
        }
        try expect("x_train.npy", npy(descr: "|u1", shape: [2, 2, 3, 3], data: Array(0..<36), fortranOrder: true),
                   "\(x): array is in Fortran order; save it in C order (numpy.ascontiguousarray) to use it")
        try expect("x_train.npy", npy(descr: "<f4", shape: [2, 2, 3, 3], data: [UInt8](repeating: 0, count: 144)),
                   "\(x): unsupported dtype '<f4': images must be uint8 ('|u1'), labels integers ('|u1', '<i8', '<i4', '<u2', ...)")
        try expect("x_train.npy", npy(descr: "<u2", shape: [2, 2, 3, 3], data: [UInt8](repeating: 0, count: 72)),
                   "\(x): wrong dtype '<u2' for images: they must be uint8 ('|u1')")
        try expect("x_train.npy", Array(xTrain.dropLast(5)),
                   "\(x): truncated array: shape (2, 2, 3, 3) of '|u1' needs 36 data bytes, the file has 31")
        try expect("x_train.npy", [0x50, 0x4B] + Array(xTrain.dropFirst(2)), "\(x): not a NumPy .npy file (no \\x93NUMPY magic)")
        try expect("x_train.npy", Array(xTrain.prefix(60)), "\(x): bad .npy header: the file ends inside it")
        try expect("x_train.npy", npy(descr: "|u1", shape: [72], data: Array(0..<72)),
                   "\(x): images must have shape (N, H, W) or (N, H, W, C), got (72,)")
        try expect("x_test.npy", npy(descr: "|u1", shape: [1, 3, 3, 2], data: Array(0..<18)),
                   "\(xt): mixed image sizes: these are 3x3x2, the training images (\(x)) 2x3x3")
        try expect("y_train.npy", npy(descr: "<i8", shape: [2], data: littleEndian([1, -1], size: 8)),
                   "\(y): label -1 at index 1 is out of range 0..<256 (labels are class numbers from 0)")
        try expect("y_train.npy", npy(descr: "<i8", shape: [2], data: littleEndian([300, 1], size: 8)),
                   "\(y): label 300 at index 0 is out of range 0..<256 (labels are class numbers from 0)")
        try expect("y_train.npy", npy(descr: "|u1", shape: [3], data: [0, 1, 2]), "\(y): 3 labels for the 2 images of \(x)")
        try expect("y_train.npy", npy(descr: "<i8", shape: [2, 2], data: littleEndian([1, 0, 1, 0], size: 8)),
                   "\(y): labels must have shape (N,), got (2, 2)")
        var noShape = xTrain
        let header = String(decoding: noShape[10..<128], as: UTF8.self).replacingOccurrences(of: "'shape'", with: "'shapx'")
        noShape.replaceSubrange(10..<128, with: Array(header.utf8))
        try expect("x_train.npy", noShape, "\(x): bad .npy header: no 'shape' tuple in \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        try FileManager.default.removeItem(atPath: dir.file("y_test.npy"))
        XCTAssertEqual(dataError { try NumPy.loadNPY(directory: dir.path) }, "\(dir.file("y_test.npy")): file not found (the NumPy array y_test)")
    }

    func testNPZFromNumpyAndFromZIPFoundation() throws {
        let dir = try TempDirectory()
        let stored = try dir.write("data.npz", [UInt8](Data(base64Encoded: Self.numpyNPZ)!))
        XCTAssertEqual(try DataFormat.guess(directory: dir.path), .npz)
        XCTAssertEqual(try DataFormat.guess(directory: stored), .npz)
        check(try NumPy.loadNPZ(directory: dir.path))
        check(try NumPy.loadNPZ(directory: stored))
        XCTAssertEqual(try DataFormat.npz.files(directory: dir.path), [stored])
        try dir.write("data.npz", [UInt8](Data(base64Encoded: Self.numpyNPZCompressed)!))
        check(try NumPy.loadNPZ(directory: dir.path))
        let members = zip(NumPy.arrayNames.map { "\($0).npy" }, [xTrain, yTrain, xTest, yTest]).map { ($0, $1) }
        try dir.write("data.npz", try npz(members, compressed: true))
        check(try NumPy.loadNPZ(directory: dir.path))
    }

    func testNPZBadFiles() throws {
        let dir = try TempDirectory()
        let file = dir.file("d.npz")
        XCTAssertEqual(dataError { try NumPy.loadNPZ(directory: dir.path) }, "\(dir.path): no .npz file in the directory")
        try dir.write("d.npz", Array("not a zip at all".utf8))
        XCTAssertTrue(dataError { try NumPy.loadNPZ(directory: dir.path) }.hasPrefix("\(file): not a readable .npz (zip) archive"))
        try dir.write("d.npz", try npz([("x_train.npy", xTrain), ("y_train.npy", yTrain), ("x_test.npy", xTest)]))
        XCTAssertEqual(dataError { try NumPy.loadNPZ(directory: dir.path) },
                       "\(file): no array 'y_test' in the archive (it holds: x_test.npy, x_train.npy, y_train.npy)")
        try dir.write("d.npz", try npz([("x_train.npy", xTrain), ("y_train.npy", Array(yTrain.dropLast(3))), ("x_test.npy", xTest), ("y_test.npy", yTest)]))
        XCTAssertEqual(dataError { try NumPy.loadNPZ(directory: dir.path) },
                       "\(file) (y_train.npy): truncated array: shape (2,) of '<i8' needs 16 data bytes, the file has 13")
        try dir.write("e.npz", [])
        XCTAssertEqual(dataError { try NumPy.loadNPZ(directory: dir.path) },
                       "\(dir.path): 2 .npz files (d.npz, e.npz); name one in data.directory")
    }
}

final class DataFormatTests: XCTestCase {
    func testGuessNeedsOneFormat() throws {
        let dir = try TempDirectory()
        // Nothing recognised: IDX, whose error lists the names it tried.
        XCTAssertEqual(try DataFormat.guess(directory: dir.path), .idx)
        XCTAssertEqual(try DataFormat.guess(directory: dir.file("nowhere")), .idx)
        XCTAssertTrue(dataError { try DataFormat.idx.load(directory: dir.path) }.contains("cannot find the train image file; tried: "))
        try writeCIFAR10(dir, trainBatches: 1, perBatch: 1, test: 1)
        try dir.write("x_train.npy", [])
        XCTAssertEqual(dataError { try DataFormat.guess(directory: dir.path) },
                       "\(dir.path): files of several formats (cifar10, npy); set data.format")
    }
}
