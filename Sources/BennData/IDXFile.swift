/// An IDX file of unsigned bytes (the format of MNIST and Fashion-MNIST), read whole.
///
/// The file may be gzip-compressed (recognised by its `0x1f 0x8b` magic, whatever its name)
/// or raw. The header is two zero bytes, a type byte (only `0x08`, unsigned byte, is
/// supported), a dimension count, then one big-endian `UInt32` size per dimension; the
/// payload that follows must hold exactly the product of the sizes, no more and no less.
public struct IDXFile: Sendable, Equatable {
    /// The path the file was read from (or the name given to in-memory data).
    public let path: String
    /// The dimension sizes from the header, outermost first (e.g. `[60000, 28, 28]`).
    public let dims: [Int]
    /// The payload, row-major, `dims.reduce(1, *)` bytes.
    public let bytes: [UInt8]

    /// The header's magic number as a big-endian `UInt32` (`0x0803` for 3-D unsigned bytes).
    public var magic: UInt32 { 0x0800 | UInt32(dims.count) }

    /// Reads and validates the IDX file at `path`.
    ///
    /// - Parameter kind: when given, the file must be of this kind (magic and dimension count).
    /// - Throws: `IDXError` naming `path` and the problem.
    public init(path: String, expecting kind: IDXKind? = nil) throws {
        let raw = try FileReading.readAll(path)
        try self.init(data: raw, path: path, expecting: kind)
    }

    /// Parses IDX data already in memory (gzip-compressed or raw).
    ///
    /// - Parameter path: used to name the data in errors and stored as `path`.
    public init(data: [UInt8], path: String, expecting kind: IDXKind? = nil) throws {
        let plain = Gzip.isCompressed(data) ? try Gzip.decompress(data, path: path) : data
        let (dims, headerLength) = try IDXFile.parseHeader(plain, path: path, expecting: kind)
        self.path = path
        self.dims = dims
        self.bytes = headerLength == 0 ? plain : Array(plain[headerLength...])
    }

    /// Validates the header and the payload length; returns the dimensions and header length.
    static func parseHeader(_ data: [UInt8], path: String, expecting kind: IDXKind?) throws
        -> (dims: [Int], headerLength: Int)
    {
        guard data.count >= 4 else {
            if data.isEmpty {
                throw IDXError.invalidHeader(path: path, reason: "the file is empty")
            }
            throw IDXError.wrongMagic(path: path, found: data, expected: kind?.magic)
        }
        guard data[0] == 0, data[1] == 0 else {
            throw IDXError.wrongMagic(path: path, found: Array(data[0..<4]), expected: kind?.magic)
        }
        guard data[2] == 0x08 else {
            throw IDXError.unsupportedType(path: path, typeCode: data[2])
        }
        let dimensionCount = Int(data[3])
        if let kind, dimensionCount != kind.dimensionCount {
            throw IDXError.wrongDimensionCount(
                path: path, found: dimensionCount, expected: kind.dimensionCount)
        }
        let headerLength = 4 + 4 * dimensionCount
        guard data.count >= headerLength else {
            throw IDXError.invalidHeader(
                path: path,
                reason: "the header declares \(dimensionCount) dimensions and needs \(headerLength) "
                    + "bytes, but the file has only \(data.count)")
        }
        var dims: [Int] = []
        dims.reserveCapacity(dimensionCount)
        var product = 1
        for d in 0..<dimensionCount {
            let o = 4 + 4 * d
            let size = Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8
                | Int(data[o + 3])
            dims.append(size)
            let (p, overflow) = product.multipliedReportingOverflow(by: size)
            guard !overflow else {
                throw IDXError.invalidHeader(
                    path: path, reason: "the dimensions \(dims) multiply to more than \(Int.max) bytes")
            }
            product = p
        }
        let payload = data.count - headerLength
        guard payload == product else {
            throw IDXError.payloadSizeMismatch(path: path, expected: product, actual: payload)
        }
        return (dims, headerLength)
    }
}
