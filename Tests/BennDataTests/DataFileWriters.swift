import Foundation
import XCTest
import ZIPFoundation
@testable import BennData

// Writers of data files in their published layouts, for the reader tests (and, through
// copies in the CLI and cluster tests, for end-to-end runs).

/// One CIFAR binary record as the CIFAR tools write it: the label byte(s), then the 1024
/// red, 1024 green and 1024 blue bytes, each plane row-major. `hwc` is the image in HWC.
func cifarRecord(labels: [UInt8], hwc: [UInt8]) -> [UInt8] {
    precondition(hwc.count == 3072)
    var out = labels
    for c in 0..<3 { for p in 0..<1024 { out.append(hwc[p * 3 + c]) } }
    return out
}

/// A deterministic 32x32x3 HWC image for sample `i`.
func cifarImage(_ i: Int) -> [UInt8] {
    (0..<3072).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i &* 31 &+ ($0 % 3) &* 50) }
}

/// Writes a CIFAR-10 directory: `trainBatches` batches of `perBatch` records and a test
/// batch of `test` records; labels `i % 10`. Returns the HWC images and labels written.
@discardableResult
func writeCIFAR10(_ dir: TempDirectory, trainBatches: Int = 2, perBatch: Int = 3, test: Int = 2, meta: Bool = false)
    throws -> (train: [([UInt8], UInt8)], test: [([UInt8], UInt8)])
{
    var train: [([UInt8], UInt8)] = [], tests: [([UInt8], UInt8)] = []
    var i = 0
    for b in 1...trainBatches {
        var bytes: [UInt8] = []
        for _ in 0..<perBatch {
            let (image, label) = (cifarImage(i), UInt8(i % 10))
            bytes += cifarRecord(labels: [label], hwc: image)
            train.append((image, label))
            i += 1
        }
        try dir.write("data_batch_\(b).bin", bytes)
    }
    var bytes: [UInt8] = []
    for _ in 0..<test {
        let (image, label) = (cifarImage(i), UInt8(i % 10))
        bytes += cifarRecord(labels: [label], hwc: image)
        tests.append((image, label))
        i += 1
    }
    try dir.write("test_batch.bin", bytes)
    if meta {
        // As the CIFAR-10 binary archive ships it: one name a line, then blank lines.
        try dir.write("batches.meta.txt", Array((CIFAR.cifar10ClassNames.map { $0.uppercased() }.joined(separator: "\n") + "\n\n").utf8))
    }
    return (train, tests)
}

/// The bytes `numpy.save` writes for an array: magic, version 1.0 (or 2.0 for `version: 2`),
/// the little-endian header length, the header dict padded with spaces to a multiple of 64
/// bytes in all, ending in a newline, then the data.
func npy(descr: String, shape: [Int], data: [UInt8], version: UInt8 = 1, fortranOrder: Bool = false) -> [UInt8] {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(shapeText), }"
    let prefix = version == 1 ? 10 : 12
    let total = prefix + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
    let n = header.utf8.count
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    out += version == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
    return out + Array(header.utf8) + data
}

/// Little-endian bytes of `values`, `size` bytes each.
func littleEndian(_ values: [Int], size: Int) -> [UInt8] {
    values.flatMap { v in (0..<size).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: Int64(v)) >> (8 * $0)) } }
}

/// A zip of `members` (name, bytes), stored or deflated, as an `.npz`.
func npz(_ members: [(String, [UInt8])], compressed: Bool = false) throws -> [UInt8] {
    let archive = try Archive(data: Data(), accessMode: .create)
    for (name, bytes) in members {
        let data = Data(bytes)
        try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count),
                             compressionMethod: compressed ? .deflate : .none) { position, size in
            data.subdata(in: Int(position)..<(Int(position) + size))
        }
    }
    return [UInt8](archive.data!)
}
