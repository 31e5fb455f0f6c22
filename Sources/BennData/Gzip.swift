import CBennZlib

/// gzip decompression with zlib's `inflate`, for IDX files shipped as `.gz`.
public enum Gzip {
    /// True when `bytes` starts with the gzip magic `0x1f 0x8b`.
    public static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Decompresses a whole gzip file (one or more concatenated members).
    ///
    /// - Parameter path: used only to name the file in errors.
    /// - Throws: `IDXError.corruptGzip` if the stream is damaged, truncated, or followed by
    ///   bytes that are neither another gzip member nor zero padding.
    public static func decompress(_ input: [UInt8], path: String) throws -> [UInt8] {
        // The trailer's ISIZE (uncompressed size mod 2^32) is a good first guess; +1 so that
        // inflate can finish without ever seeing a full output buffer.
        var guess = max(input.count * 2, 4096)
        if input.count >= 18 {
            let n = input.count
            let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16
                | Int(input[n - 1]) << 24
            if isize > 0 && isize <= input.count &* 1100 { guess = isize + 1 }
        }
        var output = [UInt8](repeating: 0, count: guess)
        var produced = 0

        var stream = z_stream()
        var rc = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            throw IDXError.corruptGzip(path: path, reason: "zlib could not start inflating (code \(rc))")
        }
        defer { inflateEnd(&stream) }

        try input.withUnsafeBufferPointer { inBuffer in
            guard let inBase = inBuffer.baseAddress else {
                throw IDXError.corruptGzip(path: path, reason: "empty input")
            }
            var consumed = 0
            stream.next_in = UnsafeMutablePointer(mutating: inBase)
            stream.avail_in = UInt32(min(inBuffer.count, Int(UInt32.max)))
            while true {
                if produced == output.count {
                    output.append(contentsOf: repeatElement(0, count: max(output.count, 65_536)))
                }
                let inBefore = Int(stream.avail_in)
                rc = output.withUnsafeMutableBufferPointer { outBuffer in
                    let room = min(outBuffer.count - produced, Int(UInt32.max))
                    stream.next_out = outBuffer.baseAddress! + produced
                    stream.avail_out = UInt32(room)
                    let r = inflate(&stream, Z_NO_FLUSH)
                    produced += room - Int(stream.avail_out)
                    return r
                }
                consumed += inBefore - Int(stream.avail_in)
                // Refill the 32-bit input window for inputs of 4 GiB or more.
                if stream.avail_in == 0 && consumed < inBuffer.count {
                    stream.next_in = UnsafeMutablePointer(mutating: inBase + consumed)
                    stream.avail_in = UInt32(min(inBuffer.count - consumed, Int(UInt32.max)))
                }
                switch rc {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    let rest = inBuffer.count - consumed
                    if rest == 0 { return }
                    if rest >= 2 && inBase[consumed] == 0x1F && inBase[consumed + 1] == 0x8B {
                        // Another gzip member follows (as `cat a.gz b.gz` makes).
                        guard inflateReset(&stream) == Z_OK else {
                            throw IDXError.corruptGzip(path: path, reason: "cannot reset the inflater")
                        }
                        continue
                    }
                    if (consumed..<inBuffer.count).allSatisfy({ inBase[$0] == 0 }) { return }
                    throw IDXError.corruptGzip(
                        path: path, reason: "\(rest) unexpected bytes after the end of the gzip stream")
                case Z_BUF_ERROR:
                    if stream.avail_out == 0 { continue }  // needs more output room
                    throw IDXError.corruptGzip(
                        path: path,
                        reason: "unexpected end of file: the compressed data stops after "
                            + "\(inBuffer.count) bytes (\(produced) bytes decompressed); the file is truncated")
                case Z_NEED_DICT:
                    throw IDXError.corruptGzip(path: path, reason: "the stream asks for a preset dictionary")
                case Z_MEM_ERROR:
                    throw IDXError.corruptGzip(path: path, reason: "out of memory while inflating")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "code \(rc)"
                    throw IDXError.corruptGzip(path: path, reason: message)
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }
}
