import CBennZlib

/// A decoded PNG image as 8-bit grey pixels, for `benn predict` on image files.
///
/// Supports what image tools write for small pictures: bit depth 8 (and 16, reduced to 8),
/// grey, grey + alpha, RGB, RGBA and palette images, non-interlaced, all five filter types.
/// Colour is converted to grey with the ITU-R BT.601 luma weights; alpha is ignored.
public struct PNGImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Row-major grey values, `width * height`.
    public let pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public struct DecodeError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let problem: String
        public var description: String { "\(path): \(problem)" }
    }

    public static func load(path: String) throws -> PNGImage {
        let bytes: [UInt8]
        do { bytes = try FileReading.readAll(path) } catch {
            throw DecodeError(path: path, problem: "cannot read the file (\(error))")
        }
        return try decode(bytes, path: path)
    }

    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> PNGImage {
        func fail(_ p: String) -> DecodeError { DecodeError(path: path, problem: p) }
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { throw fail("not a PNG file (wrong signature)") }
        func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var offset = 8
        var width = 0, height = 0, depth = 0, colour = 0, interlace = 0
        var palette: [UInt8] = []
        var compressed: [UInt8] = []
        var sawEnd = false
        while offset + 12 <= bytes.count {
            let length = u32(offset)
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard length <= bytes.count - offset - 12 else { throw fail("chunk \(type) runs past the end of the file (truncated?)") }
            let data = Array(bytes[(offset + 8)..<(offset + 8 + length)])
            let storedCRC = UInt32(u32(offset + 8 + length))
            let crc = bytes[(offset + 4)..<(offset + 8 + length)].withContiguousStorageIfAvailable {
                UInt32(crc32(0, $0.baseAddress, uInt($0.count)))
            } ?? 0
            guard crc == storedCRC else { throw fail("chunk \(type) has a bad CRC (corrupted file)") }
            switch type {
            case "IHDR":
                guard length == 13 else { throw fail("IHDR has \(length) bytes, 13 expected") }
                width = u32(offset + 8)
                height = u32(offset + 12)
                depth = Int(data[8])
                colour = Int(data[9])
                interlace = Int(data[12])
            case "PLTE": palette = data
            case "IDAT": compressed += data
            case "IEND": sawEnd = true
            default: break
            }
            offset += 12 + length
            if sawEnd { break }
        }
        guard sawEnd else { throw fail("no IEND chunk (truncated file)") }
        guard width > 0, height > 0, width <= 16384, height <= 16384 else { throw fail("image size \(width)x\(height) is not supported") }
        guard interlace == 0 else { throw fail("interlaced PNGs are not supported") }
        let channels: Int
        switch colour {
        case 0: channels = 1
        case 2: channels = 3
        case 3: channels = 1
        case 4: channels = 2
        case 6: channels = 4
        default: throw fail("colour type \(colour) is not a valid PNG colour type")
        }
        guard depth == 8 || (depth == 16 && colour != 3) else { throw fail("bit depth \(depth) is not supported (8 or 16)") }
        let bytesPerSample = depth / 8
        let bpp = channels * bytesPerSample
        let stride = width * bpp
        let raw = try inflate(compressed, expected: height * (stride + 1), fail: fail)
        // Undo the per-row filters.
        var image = [UInt8](repeating: 0, count: height * stride)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            let src = y * (stride + 1) + 1, dst = y * stride
            for x in 0..<stride {
                let a = x >= bpp ? Int(image[dst + x - bpp]) : 0
                let b = y > 0 ? Int(image[dst - stride + x]) : 0
                let c = (x >= bpp && y > 0) ? Int(image[dst - stride + x - bpp]) : 0
                let v = Int(raw[src + x])
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: throw fail("row \(y) has unknown filter type \(filter)")
                }
                image[dst + x] = UInt8((v + predicted) & 0xFF)
            }
        }
        var grey = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            func sample(_ ch: Int) -> Int { Int(image[i * bpp + ch * bytesPerSample]) }  // high byte for 16-bit
            switch colour {
            case 0, 4: grey[i] = UInt8(sample(0))
            case 3:
                let index = sample(0)
                guard index * 3 + 2 < palette.count else { throw fail("palette index \(index) is outside the palette") }
                grey[i] = luma(Int(palette[index * 3]), Int(palette[index * 3 + 1]), Int(palette[index * 3 + 2]))
            default: grey[i] = luma(sample(0), sample(1), sample(2))
            }
        }
        return PNGImage(width: width, height: height, pixels: grey)
    }

    static func luma(_ r: Int, _ g: Int, _ b: Int) -> UInt8 {
        UInt8((299 * r + 587 * g + 114 * b + 500) / 1000)
    }

    static func inflate(_ input: [UInt8], expected: Int, fail: (String) -> DecodeError) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: expected)
        var length = uLongf(expected)
        let status = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                uncompress(dst.baseAddress, &length, src.baseAddress, uLong(src.count))
            }
        }
        guard status == Z_OK else { throw fail("image data does not decompress (zlib status \(status); corrupted or truncated)") }
        guard Int(length) == expected else { throw fail("image data has \(length) bytes, \(expected) expected") }
        return out
    }
}
