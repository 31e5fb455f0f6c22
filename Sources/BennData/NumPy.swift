#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ZIPFoundation

/// NumPy's `.npy` arrays (format versions 1.0, 2.0 and 3.0, C order) and `.npz` archives
/// (a zip of `.npy` files, as `numpy.savez` writes them), holding `uint8` images of shape
/// (N, H, W) or (N, H, W, C) and integer labels of shape (N,).
///
/// A data set is four arrays: `x_train`, `y_train`, `x_test`, `y_test` (Keras's names),
/// either as four `.npy` files in a directory or as the members of one `.npz`.
public enum NumPy {
    /// The array names of a data set, in reading order.
    public static let arrayNames = ["x_train", "y_train", "x_test", "y_test"]

    /// One parsed `.npy`: its dtype string, shape and the bytes of its data.
    public struct Array: Sendable {
        public var descr: String
        public var shape: [Int]
        public var data: [UInt8]
    }

    /// Parses the bytes of a `.npy` file.
    ///
    /// - Throws: `DataFileError` naming `path` (and the member, for an `.npz`): a bad magic,
    ///   version or header, Fortran order, or data shorter or longer than the shape says.
    public static func parse(_ bytes: [UInt8], path: String) throws -> Array {
        func bad(_ reason: String) -> DataFileError { DataFileError(path: path, reason: reason) }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10, Swift.Array(bytes[0..<6]) == magic else {
            throw bad("not a NumPy .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("bad .npy header: the file ends inside it") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw bad("unsupported .npy format version \(major).\(bytes[7]) (1.0, 2.0 and 3.0 are read)")
        }
        guard bytes.count >= headerStart + headerLength else { throw bad("bad .npy header: the file ends inside it") }
        guard let header = String(validating: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self) else {
            throw bad("bad .npy header: not text")
        }
        guard let descr = value(of: "descr", in: header), descr.count >= 3,
              descr.first == "'" || descr.first == "\"", descr.last == descr.first else {
            throw bad("bad .npy header: no 'descr' string in \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        guard let fortran = value(of: "fortran_order", in: header), fortran == "False" || fortran == "True" else {
            throw bad("bad .npy header: no 'fortran_order' in \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        if fortran == "True" {
            throw bad("array is in Fortran order; save it in C order (numpy.ascontiguousarray) to use it")
        }
        guard let shapeText = value(of: "shape", in: header), shapeText.first == "(", shapeText.last == ")" else {
            throw bad("bad .npy header: no 'shape' tuple in \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        var shape: [Int] = []
        for part in shapeText.dropFirst().dropLast().split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let n = Int(t), n >= 0 else { throw bad("bad .npy header: shape \(shapeText) is not a tuple of sizes") }
            shape.append(n)
        }
        let type = String(descr.dropFirst().dropLast())
        guard let size = itemSize(type) else {
            throw bad("unsupported dtype '\(type)': images must be uint8 ('|u1'), labels integers ('|u1', '<i8', '<i4', '<u2', ...)")
        }
        let dataStart = headerStart + headerLength
        var expected = size
        for n in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: n)
            guard !overflow else { throw bad("bad .npy header: shape \(shapeText) is too large") }
            expected = product
        }
        let actual = bytes.count - dataStart
        if actual < expected {
            throw bad("truncated array: shape \(shapeText) of '\(type)' needs \(expected) data bytes, the file has \(actual)")
        }
        if actual > expected {
            throw bad("array data longer than its shape \(shapeText) of '\(type)' says: \(actual) bytes, expected \(expected)")
        }
        return Array(descr: type, shape: shape, data: Swift.Array(bytes[dataStart...]))
    }

    /// The text of `key`'s value in a header dict (`{'descr': '|u1', 'shape': (2, 3), }`).
    static func value(of key: String, in header: String) -> String? {
        for quote in ["'", "\""] {
            guard let keyRange = header.range(of: quote + key + quote) else { continue }
            var rest = header[keyRange.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst().drop { $0 == " " }
            guard let first = rest.first else { return nil }
            if first == "(" {
                guard let close = rest.firstIndex(of: ")") else { return nil }
                return String(rest[...close])
            }
            if first == "'" || first == "\"" {
                guard let close = rest.dropFirst().firstIndex(of: first) else { return nil }
                return String(rest[...close])
            }
            let end = rest.firstIndex { $0 == "," || $0 == "}" } ?? rest.endIndex
            return rest[..<end].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// Bytes per element of the integer dtypes read, or nil for any other dtype.
    static func itemSize(_ type: String) -> Int? {
        guard type.count >= 3, let order = type.first, "<>|=".contains(order) else { return nil }
        let kind = type.dropFirst().prefix(1)
        guard kind == "u" || kind == "i", let size = Int(type.dropFirst(2)), [1, 2, 4, 8].contains(size) else { return nil }
        if order == ">" && size > 1 { return nil }  // big-endian: refused (numpy writes little-endian on every common machine)
        return size
    }

    /// The images of an array: dtype uint8, shape (N, H, W) or (N, H, W, C).
    static func images(_ a: Array, path: String) throws -> (count: Int, height: Int, width: Int, channels: Int, pixels: [UInt8]) {
        guard a.descr.dropFirst() == "u1" else {
            throw DataFileError(path: path, reason: "wrong dtype '\(a.descr)' for images: they must be uint8 ('|u1')")
        }
        guard a.shape.count == 3 || a.shape.count == 4 else {
            throw DataFileError(path: path, reason: "images must have shape (N, H, W) or (N, H, W, C), got \(shapeText(a.shape))")
        }
        let channels = a.shape.count == 4 ? a.shape[3] : 1
        guard a.shape[1] > 0, a.shape[2] > 0, channels > 0 else {
            throw DataFileError(path: path, reason: "images of shape \(shapeText(a.shape)) are empty")
        }
        return (a.shape[0], a.shape[1], a.shape[2], channels, a.data)
    }

    /// The labels of an array: an integer dtype, shape (N,) or (N, 1), each in 0...255.
    static func labels(_ a: Array, path: String) throws -> [Int] {
        guard a.shape.count == 1 || (a.shape.count == 2 && a.shape[1] == 1) else {
            throw DataFileError(path: path, reason: "labels must have shape (N,), got \(shapeText(a.shape))")
        }
        let size = itemSize(a.descr) ?? 1
        let signed = a.descr.dropFirst().hasPrefix("i")
        let n = a.shape[0]
        var labels = [Int](repeating: 0, count: n)
        for i in 0..<n {
            var v: UInt64 = 0
            for b in 0..<size { v |= UInt64(a.data[i * size + b]) << (8 * b) }
            var value: Int
            if signed && size < 8 && v >> (8 * size - 1) == 1 { value = Int(Int64(bitPattern: v | (~0 << (8 * size)))) }
            else { value = Int(truncatingIfNeeded: Int64(bitPattern: v)) }
            if !signed && size == 8 && v > UInt64(Int.max) { value = Int.max }
            guard value >= 0 && value < 256 else {
                throw DataFileError(path: path, reason: "label \(value) at index \(i) is out of range 0..<256 (labels are class numbers from 0)")
            }
            labels[i] = value
        }
        return labels
    }

    static func shapeText(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// The four `.npy` files of `directory` (`x_train.npy`, `y_train.npy`, `x_test.npy`, `y_test.npy`).
    ///
    /// - Throws: `DataFileError` naming the first one missing.
    public static func npyFiles(directory: String) throws -> [String] {
        try arrayNames.map { try CIFAR.required(directory, "\($0).npy", "NumPy array \($0)") }
    }

    /// The `.npz` of a spec's `data.directory`: the path itself when it names a file, else
    /// the one `.npz` in the directory.
    ///
    /// - Throws: `DataFileError` when there is no `.npz`, or more than one.
    public static func npzFile(directory: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw DataFileError(path: directory, reason: "not found")
        }
        if !isDirectory.boolValue { return directory }
        let found = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".npz") }.sorted()
        guard found.count == 1 else {
            throw DataFileError(path: directory, reason: found.isEmpty ? "no .npz file in the directory"
                                : "\(found.count) .npz files (\(found.joined(separator: ", "))); name one in data.directory")
        }
        return CIFAR.path(directory, found[0])
    }

    /// Loads the four `.npy` files of `directory`.
    public static func loadNPY(directory: String) throws -> (train: LabeledImages, test: LabeledImages) {
        let files = try npyFiles(directory: directory)
        var arrays: [(Array, String)] = []
        for file in files { arrays.append((try parse(try FileReading.readAll(file), path: file), file)) }
        return try assemble(arrays)
    }

    /// Loads `x_train`, `y_train`, `x_test` and `y_test` from an `.npz` (the file, or the
    /// one `.npz` in the directory).
    public static func loadNPZ(directory: String) throws -> (train: LabeledImages, test: LabeledImages) {
        let file = try npzFile(directory: directory)
        let bytes = try FileReading.readAll(file)
        let archive: Archive
        do {
            archive = try Archive(data: Data(bytes), accessMode: .read)
        } catch {
            throw DataFileError(path: file, reason: "not a readable .npz (zip) archive: \(error)")
        }
        var arrays: [(Array, String)] = []
        for name in arrayNames {
            guard let entry = archive["\(name).npy"] else {
                let members = archive.map(\.path).sorted().joined(separator: ", ")
                throw DataFileError(path: file, reason: "no array '\(name)' in the archive (it holds: \(members.isEmpty ? "nothing" : members))")
            }
            var data = Data()
            do {
                _ = try archive.extract(entry) { data.append($0) }
            } catch {
                throw DataFileError(path: "\(file) (\(name).npy)", reason: "cannot extract the member: \(error)")
            }
            let where_ = "\(file) (\(name).npy)"
            arrays.append((try parse([UInt8](data), path: where_), where_))
        }
        return try assemble(arrays)
    }

    /// Builds the two splits from `x_train`, `y_train`, `x_test`, `y_test` (with the
    /// names errors give them). The class count is one more than the largest label.
    static func assemble(_ arrays: [(Array, String)]) throws -> (train: LabeledImages, test: LabeledImages) {
        let xTrain = try images(arrays[0].0, path: arrays[0].1)
        let yTrain = try labels(arrays[1].0, path: arrays[1].1)
        let xTest = try images(arrays[2].0, path: arrays[2].1)
        let yTest = try labels(arrays[3].0, path: arrays[3].1)
        guard xTrain.count == yTrain.count else {
            throw DataFileError(path: arrays[1].1, reason: "\(yTrain.count) labels for the \(xTrain.count) images of \(arrays[0].1)")
        }
        guard xTest.count == yTest.count else {
            throw DataFileError(path: arrays[3].1, reason: "\(yTest.count) labels for the \(xTest.count) images of \(arrays[2].1)")
        }
        let trainShape = [xTrain.height, xTrain.width, xTrain.channels], testShape = [xTest.height, xTest.width, xTest.channels]
        guard trainShape == testShape else {
            throw DataFileError(path: arrays[2].1, reason: "mixed image sizes: these are \(testShape.map(String.init).joined(separator: "x")), "
                                + "the training images (\(arrays[0].1)) \(trainShape.map(String.init).joined(separator: "x"))")
        }
        let classes = (yTrain + yTest).max().map { $0 + 1 } ?? 1
        let names = (0..<classes).map(String.init)
        func set(_ x: (count: Int, height: Int, width: Int, channels: Int, pixels: [UInt8]), _ y: [Int]) throws -> LabeledImages {
            try LabeledImages(height: x.height, width: x.width, channels: x.channels, pixels: x.pixels,
                              labels: y.map { UInt8($0) }, classNames: names)
        }
        return (try set(xTrain, yTrain), try set(xTest, yTest))
    }
}
