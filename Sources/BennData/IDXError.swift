/// What can go wrong while reading an IDX file or a data set made of IDX files.
///
/// Every case names the file (or files) involved, and `description` spells out the
/// problem in a sentence that can be shown to a user as it is.
public enum IDXError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file does not exist.
    case fileNotFound(path: String)
    /// The file exists but could not be read (permissions, a directory, an I/O error).
    case unreadable(path: String, reason: String)
    /// The file starts like a gzip stream but the stream is damaged or truncated.
    case corruptGzip(path: String, reason: String)
    /// The file is shorter than its IDX header, or the header is impossible.
    case invalidHeader(path: String, reason: String)
    /// The first bytes are not an IDX magic number (or not the one that was expected).
    /// `found` holds the (up to four) bytes read; `expected` is the magic that was wanted, if any.
    case wrongMagic(path: String, found: [UInt8], expected: UInt32?)
    /// The IDX element type is not unsigned byte (0x08), the only type benn reads.
    case unsupportedType(path: String, typeCode: UInt8)
    /// The header declares a different number of dimensions than the file's role needs
    /// (3 for images, 1 for labels).
    case wrongDimensionCount(path: String, found: Int, expected: Int)
    /// The payload after the header has `actual` bytes but the header's dimensions multiply
    /// to `expected` (fewer: the file is truncated; more: it has trailing bytes).
    case payloadSizeMismatch(path: String, expected: Int, actual: Int)
    /// The image file and the label file hold different numbers of samples.
    case countMismatch(imagesPath: String, imageCount: Int, labelsPath: String, labelCount: Int)
    /// A label is not below the number of classes.
    case labelOutOfRange(path: String, index: Int, label: Int, classCount: Int)
    /// None of the candidate file names for a data set file exists in the directory.
    case datasetFileMissing(directory: String, file: String, tried: [String])

    /// The path of the (first) file the error is about.
    public var path: String {
        switch self {
        case .fileNotFound(let p), .unreadable(let p, _), .corruptGzip(let p, _),
             .invalidHeader(let p, _), .wrongMagic(let p, _, _), .unsupportedType(let p, _),
             .wrongDimensionCount(let p, _, _), .payloadSizeMismatch(let p, _, _),
             .labelOutOfRange(let p, _, _, _):
            return p
        case .countMismatch(let images, _, _, _):
            return images
        case .datasetFileMissing(let directory, _, _):
            return directory
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): file not found"
        case .unreadable(let path, let reason):
            return "\(path): cannot read the file: \(reason)"
        case .corruptGzip(let path, let reason):
            return "\(path): corrupt gzip stream: \(reason)"
        case .invalidHeader(let path, let reason):
            return "\(path): invalid IDX header: \(reason)"
        case .wrongMagic(let path, let found, let expected):
            let foundText = found.map { IDXError.hexByte($0) }.joined(separator: " ")
            var text = "\(path): wrong magic number: found bytes [\(foundText)]"
            if let expected {
                text += ", expected \(IDXError.hex32(expected))"
                if let kind = IDXKind(magic: expected) { text += " (\(kind.summary))" }
            } else {
                text += ", expected 0x00 0x00 <type> <dimension count>"
            }
            return text + "; valid magics are 0x00000803 for images and 0x00000801 for labels"
        case .unsupportedType(let path, let code):
            return "\(path): unsupported IDX element type \(IDXError.hexByte(code)) "
                + "(\(IDXError.typeName(code))); only 0x08 (unsigned byte) is supported"
        case .wrongDimensionCount(let path, let found, let expected):
            let foundMagic = IDXError.hex32(0x0800 | UInt32(truncatingIfNeeded: found))
            let expectedMagic = IDXError.hex32(0x0800 | UInt32(truncatingIfNeeded: expected))
            var text = "\(path): wrong dimension count: the header (magic \(foundMagic)) declares "
                + "\(found) dimension\(found == 1 ? "" : "s"), expected \(expected) (magic \(expectedMagic))"
            if found == 1 && expected == 3 { text += "; is this a label file given as images?" }
            if found == 3 && expected == 1 { text += "; is this an image file given as labels?" }
            return text
        case .payloadSizeMismatch(let path, let expected, let actual):
            if actual < expected {
                return "\(path): payload shorter than the header says (truncated file): "
                    + "header dimensions need \(expected) bytes, found \(actual)"
            }
            return "\(path): payload longer than the header says (trailing bytes): "
                + "header dimensions need \(expected) bytes, found \(actual)"
        case .countMismatch(let imagesPath, let imageCount, let labelsPath, let labelCount):
            return "image count does not match label count: \(imagesPath) holds \(imageCount) images "
                + "but \(labelsPath) holds \(labelCount) labels"
        case .labelOutOfRange(let path, let index, let label, let classCount):
            return "\(path): label \(label) at index \(index) is out of range "
                + "(expected 0..<\(classCount))"
        case .datasetFileMissing(let directory, let file, let tried):
            return "\(directory): cannot find the \(file) file; tried: "
                + tried.joined(separator: ", ")
        }
    }

    static func hexByte(_ b: UInt8) -> String {
        let digits = String(b, radix: 16, uppercase: true)
        return "0x" + (digits.count < 2 ? "0" + digits : digits)
    }

    static func hex32(_ v: UInt32) -> String {
        let digits = String(v, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    static func typeName(_ code: UInt8) -> String {
        switch code {
        case 0x08: return "unsigned byte"
        case 0x09: return "signed byte"
        case 0x0B: return "short"
        case 0x0C: return "int"
        case 0x0D: return "float"
        case 0x0E: return "double"
        default: return "unknown type"
        }
    }
}
