import BennCore
import Foundation

/// Reader and writer for the safetensors container: an 8-byte little-endian header
/// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
/// little-endian tensor bytes. String metadata lives under `__metadata__`.
///
/// Chosen because any language can read it without our code; checkpoints and ensemble
/// artifacts are both stored this way. A 64-bit FNV-1a checksum of the data section is
/// kept in the metadata (`benn.checksum`), and one of the whole file with its own 16 digits read
/// as zeros (`benn.file_checksum`, docs/ARTIFACT.md), so corruption is reported as such.
public struct SafeTensors: Sendable {
    public enum DType: String, Sendable, Codable {
        case f32 = "F32", i32 = "I32", u8 = "U8", u64 = "U64"
        public var size: Int {
            switch self {
            case .f32, .i32: return 4
            case .u8: return 1
            case .u64: return 8
            }
        }
    }

    public struct Entry: Sendable {
        public var dtype: DType
        public var shape: [Int]
        public var bytes: [UInt8]
        public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }
    }

    /// A safetensors file that cannot be read or written, naming the file.
    public typealias FormatError = FileError

    public var entries: [String: Entry] = [:]
    public var metadata: [String: String] = [:]

    public init() {}

    public static let checksumKey = "benn.checksum"
    /// FNV-1a 64 of the whole file, header included, with this key's 16 hex digits read
    /// as sixteen ASCII `0` (docs/ARTIFACT.md): covers the metadata and the tensor table too.
    public static let fileChecksumKey = "benn.file_checksum"

    /// The checksum keys that `decode` found and verified (they are removed from `metadata`).
    public var verifiedChecksums: Set<String> = []

    // MARK: Tensors

    public mutating func set(_ name: String, _ tensor: Tensor) {
        let bytes = tensor.storage.withUnsafeBytes { Array($0) }
        entries[name] = Entry(dtype: .f32, shape: tensor.shape, bytes: bytes)
    }

    public mutating func set(_ name: String, words: [UInt64], shape: [Int]) {
        entries[name] = Entry(dtype: .u64, shape: shape, bytes: words.withUnsafeBytes { Array($0) })
    }

    public mutating func set(_ name: String, int32 values: [Int32], shape: [Int]) {
        entries[name] = Entry(dtype: .i32, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }

    public func tensor(_ name: String) -> Tensor? {
        guard let e = entries[name], e.dtype == .f32 else { return nil }
        let values = e.bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return Tensor(shape: e.shape, storage: values)
    }

    public func words(_ name: String) -> [UInt64]? {
        guard let e = entries[name], e.dtype == .u64 else { return nil }
        return e.bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) }
    }

    public func int32s(_ name: String) -> [Int32]? {
        guard let e = entries[name], e.dtype == .i32 else { return nil }
        return e.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
    }

    /// All float tensors by name.
    public var tensors: [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in entries.keys { if let t = tensor(name) { out[name] = t } }
        return out
    }

    // MARK: Encoding

    /// Serialises with tensors in name order, so equal contents give equal bytes.
    public func encoded() -> [UInt8] {
        var data: [UInt8] = []
        var header: [String: Any] = [:]
        for name in entries.keys.sorted() {
            let e = entries[name]!
            header[name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [data.count, data.count + e.bytes.count]] as [String: Any]
            data += e.bytes
        }
        var meta = metadata
        meta[SafeTensors.checksumKey] = SafeTensors.checksum(data)
        meta[SafeTensors.fileChecksumKey] = SafeTensors.fileChecksumPlaceholder
        header["__metadata__"] = meta
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])).map { [UInt8]($0) } ?? []
        // Pad the header with spaces so tensor data starts 8-byte aligned.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + data.count)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out += $0 }
        out += json
        out += data
        // The placeholder is hashed as it stands, then replaced by the hash (same length).
        if let digits = SafeTensors.fileChecksumDigits(in: out, headerEnd: 8 + json.count) {
            let hash = Array(SafeTensors.checksum(out).utf8)
            out.replaceSubrange(digits, with: hash)
        }
        return out
    }

    static let fileChecksumPlaceholder = String(repeating: "0", count: 16)

    /// The byte range of the 16 hex digits of the one `"benn.file_checksum":"…"` in the
    /// header, or nil when the header holds it not exactly once. Inside a JSON string a
    /// quote is escaped, so this byte sequence can only be the key and its value.
    static func fileChecksumDigits(in bytes: [UInt8], headerEnd: Int) -> Range<Int>? {
        let pattern = Array("\"\(fileChecksumKey)\":\"".utf8)
        var found: Range<Int>?
        var i = 8
        while i + pattern.count + 17 <= headerEnd {
            if bytes[i] == pattern[0], Array(bytes[i..<(i + pattern.count)]) == pattern {
                guard found == nil else { return nil }
                let start = i + pattern.count
                guard bytes[start + 16] == UInt8(ascii: "\"") else { return nil }
                found = start..<(start + 16)
                i += pattern.count
            } else {
                i += 1
            }
        }
        return found
    }

    /// Writes atomically: a temporary file beside the target, fsync'd, then renamed.
    public func write(to path: String) throws {
        let bytes = encoded()
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes)) else {
            throw FormatError(path: path, reason: "cannot write file (directory missing or not writable)")
        }
        let fd = open(tmp, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        if rename(tmp, path) != 0 {
            unlink(tmp)
            throw FormatError(path: path, reason: "cannot move the written file into place: \(String(cString: strerror(errno)))")
        }
    }

    // MARK: Decoding

    public static func read(from path: String) throws -> SafeTensors {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FormatError(path: path, reason: "file not found")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FormatError(path: path, reason: "file cannot be read")
        }
        return try decode([UInt8](data), path: path)
    }

    /// Parses and checks a file (header, byte ranges, checksum). With `materialize` false
    /// the entries keep their dtype and shape but no bytes: enough to validate a file
    /// without copying its data. With `requireChecksum` a file without `benn.checksum` is
    /// refused (files from peers, whose corruption must not go unnoticed).
    public static func decode(_ bytes: [UInt8], path: String = "<memory>", materialize: Bool = true,
                              requireChecksum: Bool = false) throws -> SafeTensors {
        func fail(_ p: String) -> FormatError { FormatError(path: path, reason: p) }
        guard bytes.count >= 8 else { throw fail("too short to be a safetensors file (\(bytes.count) bytes)") }
        var n: UInt64 = 0
        for i in (0..<8).reversed() { n = n << 8 | UInt64(bytes[i]) }
        guard n > 0, n <= UInt64(bytes.count - 8), n < 100_000_000 else {
            throw fail("header length \(n) does not fit in a file of \(bytes.count) bytes (truncated, or not a safetensors file)")
        }
        let headerEnd = 8 + Int(n)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
              let header = object as? [String: Any] else {
            throw fail("header is not a JSON object (not a safetensors file, or corrupted)")
        }
        let dataCount = bytes.count - headerEnd
        var result = SafeTensors()
        if let meta = header["__metadata__"] {
            guard let m = meta as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
            result.metadata = m
        }
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any],
                  let dtypeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int],
                  let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("tensor '\(name)' has a malformed header entry")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor '\(name)' has unsupported dtype \(dtypeName)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard shape.allSatisfy({ $0 >= 0 }), begin >= 0, end >= begin, end <= dataCount else {
                throw fail("tensor '\(name)' byte range \(begin)..<\(end) lies outside the \(dataCount)-byte data section (truncated file?)")
            }
            // A hostile shape must not overflow (a trap would stop the process).
            var needed = dtype.size
            for d in shape {
                let (product, overflow) = needed.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail("tensor '\(name)' has shape \(shape), too large for any file") }
                needed = product
            }
            guard end - begin == needed else {
                throw fail("tensor '\(name)' has \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(needed)")
            }
            result.entries[name] = Entry(dtype: dtype, shape: shape,
                                         bytes: materialize ? Array(bytes[(headerEnd + begin)..<(headerEnd + end)]) : [])
        }
        if requireChecksum && result.metadata[checksumKey] == nil {
            throw fail("no \(checksumKey) in its metadata (a corrupted file could not be told apart)")
        }
        if let expected = result.metadata[fileChecksumKey] {
            guard let digits = fileChecksumDigits(in: bytes, headerEnd: headerEnd) else {
                throw fail("\(fileChecksumKey) must appear once in the header as \"\(fileChecksumKey)\":\"<16 hex digits>\"")
            }
            // Hashed in place: the bytes before the digits, sixteen '0', the bytes after.
            let actual = checksum(bytes[..<digits.lowerBound], fileChecksumPlaceholder.utf8, bytes[digits.upperBound...])
            guard actual == expected else {
                throw fail("\(fileChecksumKey) mismatch (stored \(expected), computed \(actual)): the file (header or data) is corrupted")
            }
            result.metadata[fileChecksumKey] = nil
            result.verifiedChecksums.insert(fileChecksumKey)
        }
        // The whole-file checksum covers the data too: the data's own is then not hashed again.
        if let expected = result.metadata[checksumKey] {
            let actual = result.verifiedChecksums.contains(fileChecksumKey) ? expected : checksum(bytes[headerEnd...])
            guard actual == expected else {
                throw fail("checksum mismatch (stored \(expected), computed \(actual)): the file is corrupted")
            }
            result.metadata[checksumKey] = nil
            result.verifiedChecksums.insert(checksumKey)
        }
        return result
    }

    /// FNV-1a 64 over the three byte sequences in turn, as 16 hex digits.
    static func checksum<A: Collection, B: Collection, C: Collection>(_ a: A, _ b: B, _ c: C) -> String
    where A.Element == UInt8, B.Element == UInt8, C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        fnv1a(a, &h)
        fnv1a(b, &h)
        fnv1a(c, &h)
        return hex(h)
    }

    private static func fnv1a<C: Collection>(_ bytes: C, _ h: inout UInt64) where C.Element == UInt8 {
        var state = h
        let fold: (UnsafeBufferPointer<UInt8>) -> Void = { buffer in
            for b in buffer { state = (state ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        if bytes.withContiguousStorageIfAvailable(fold) == nil {
            for b in bytes { state = (state ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        h = state
    }

    private static func hex(_ h: UInt64) -> String {
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// FNV-1a 64 over the bytes, as 16 hex digits.
    public static func checksum<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        fnv1a(bytes, &h)
        return hex(h)
    }
}
