#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads with errors that name the file.
enum FileReading {
    /// Reads all bytes of the file at `path`.
    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            let code = errno
            if code == ENOENT { throw IDXError.fileNotFound(path: path) }
            throw IDXError.unreadable(path: path, reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw IDXError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw IDXError.unreadable(path: path, reason: "it is a directory")
        }
        var result = [UInt8](repeating: 0, count: max(0, Int(info.st_size)))
        var filled = 0
        while filled < result.count {
            let got = result.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if got < 0 {
                let code = errno
                if code == EINTR { continue }
                throw IDXError.unreadable(path: path, reason: String(cString: strerror(code)))
            }
            if got == 0 { break }
            filled += got
        }
        result.removeSubrange(filled...)
        // The size from fstat may be stale or 0 (pipes, procfs): read on until end of file.
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while filled == result.count {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if got < 0 {
                let code = errno
                if code == EINTR { continue }
                throw IDXError.unreadable(path: path, reason: String(cString: strerror(code)))
            }
            if got == 0 { break }
            result.append(contentsOf: chunk[0..<got])
            filled += got
        }
        return result
    }
}
