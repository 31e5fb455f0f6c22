import XCTest
import CBennZlib
import BennData

/// Builds PNG files the way an encoder does (signature, chunks with CRCs, zlib data, row
/// filters), so the decoder is checked against independently produced bytes.
enum PNGWriter {
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        let crc = body.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        return be32(UInt32(data.count)) + body + be32(crc)
    }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)] }

    /// `rows` are already filtered scanlines (filter byte first).
    static func png(width: Int, height: Int, colour: UInt8, rows: [[UInt8]], palette: [UInt8]? = nil) -> [UInt8] {
        let raw = rows.flatMap { $0 }
        var size = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(size))
        _ = raw.withUnsafeBufferPointer { src in compressed.withUnsafeMutableBufferPointer { compress($0.baseAddress, &size, src.baseAddress, uLong(raw.count)) } }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [8, colour, 0, 0, 0])
        if let palette { out += chunk("PLTE", palette) }
        out += chunk("IDAT", Array(compressed[0..<Int(size)])) + chunk("IEND", [])
        return out
    }

    /// Filters one row of `bpp`-byte pixels with filter `f` given the previous raw row.
    static func filter(_ f: UInt8, row: [UInt8], previous: [UInt8]?, bpp: Int) -> [UInt8] {
        var out: [UInt8] = [f]
        for x in 0..<row.count {
            let a = x >= bpp ? Int(row[x - bpp]) : 0, b = previous.map { Int($0[x]) } ?? 0
            let c = (x >= bpp) ? (previous.map { Int($0[x - bpp]) } ?? 0) : 0
            let p: Int
            switch f {
            case 1: p = a
            case 2: p = b
            case 3: p = (a + b) / 2
            case 4:
                let e = a + b - c, pa = abs(e - a), pb = abs(e - b), pc = abs(e - c)
                p = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
            default: p = 0
            }
            out.append(UInt8((Int(row[x]) - p) & 0xFF))
        }
        return out
    }
}

final class PNGImageTests: XCTestCase {
    func testGreyImageWithEveryFilterType() throws {
        let w = 7, h = 10
        let pixels: [UInt8] = (0..<(w * h)).map { (i: Int) -> UInt8 in
            let v: Int = i * 37 + i / 3
            return UInt8(v & 0xFF)
        }
        var rows: [[UInt8]] = []
        for y in 0..<h {
            let row = Array(pixels[(y * w)..<((y + 1) * w)])
            let prev = y > 0 ? Array(pixels[((y - 1) * w)..<(y * w)]) : nil
            rows.append(PNGWriter.filter(UInt8(y % 5), row: row, previous: prev, bpp: 1))
        }
        let image = try PNGImage.decode(PNGWriter.png(width: w, height: h, colour: 0, rows: rows))
        XCTAssertEqual(image.width, w)
        XCTAssertEqual(image.height, h)
        XCTAssertEqual(image.pixels, pixels)
    }

    func testRGBAAndPaletteBecomeGrey() throws {
        let rgba: [UInt8] = [255, 0, 0, 255, 0, 255, 0, 10, 0, 0, 255, 0, 200, 200, 200, 255]
        let image = try PNGImage.decode(PNGWriter.png(width: 2, height: 2, colour: 6,
            rows: [PNGWriter.filter(4, row: Array(rgba[0..<8]), previous: nil, bpp: 4),
                   PNGWriter.filter(4, row: Array(rgba[8..<16]), previous: Array(rgba[0..<8]), bpp: 4)]))
        XCTAssertEqual(image.pixels, [76, 150, 29, 200])
        let indexed = try PNGImage.decode(PNGWriter.png(width: 2, height: 1, colour: 3, rows: [[0, 1, 0]],
                                                        palette: [0, 0, 0, 255, 255, 255]))
        XCTAssertEqual(indexed.pixels, [255, 0])
    }

    func testBrokenFilesAreRefusedWithReasons() throws {
        let good = PNGWriter.png(width: 1, height: 1, colour: 0, rows: [[0, 9]])
        XCTAssertEqual(try PNGImage.decode(good).pixels, [9])
        func problem(_ bytes: [UInt8]) -> String {
            do { _ = try PNGImage.decode(bytes, path: "x.png"); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(problem(Array("GIF89a".utf8)).contains("not a PNG"))
        var corrupt = good
        corrupt[good.count - 20] ^= 0x10
        XCTAssertTrue(problem(corrupt).contains("bad CRC") || problem(corrupt).contains("decompress"), problem(corrupt))
        XCTAssertTrue(problem(Array(good.prefix(good.count - 12))).contains("IEND"), problem(Array(good.prefix(good.count - 12))))
        XCTAssertTrue(problem(PNGWriter.png(width: 1, height: 1, colour: 0, rows: [[7, 9]])).contains("unknown filter"))
        XCTAssertTrue(problem(corrupt).hasPrefix("x.png: "))
    }
}
