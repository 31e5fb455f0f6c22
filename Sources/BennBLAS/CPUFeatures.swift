#if canImport(Glibc)
import Glibc
#endif

/// CPU features as the kernel reports them in /proc/cpuinfo. Reading the flags line is
/// enough here: it reflects both what the CPU has and what the OS enabled (XSAVE state).
public struct CPUFeatures: Sendable {
    public let flags: Set<String>
    public var avx2: Bool { flags.contains("avx2") }
    public var fma: Bool { flags.contains("fma") }
    public var avx512f: Bool { flags.contains("avx512f") }
    public var avx512bw: Bool { flags.contains("avx512bw") }
    public var avx512vl: Bool { flags.contains("avx512vl") }
    public var avx512dq: Bool { flags.contains("avx512dq") }
    public var avx512vpopcntdq: Bool { flags.contains("avx512_vpopcntdq") }
    public var modelName: String

    public static let current: CPUFeatures = read()

    private static func read() -> CPUFeatures {
        guard let text = readFile("/proc/cpuinfo") else { return CPUFeatures(flags: [], modelName: "unknown") }
        var flags = Set<String>()
        var model = "unknown"
        for line in text.split(separator: "\n") {
            if flags.isEmpty, line.hasPrefix("flags") {
                if let colon = line.firstIndex(of: ":") {
                    flags = Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
                }
            } else if model == "unknown", line.hasPrefix("model name"), let colon = line.firstIndex(of: ":") {
                model = line[line.index(after: colon)...].trimmingCharacters()
            }
            if !flags.isEmpty && model != "unknown" { break }
        }
        return CPUFeatures(flags: flags, modelName: model)
    }

    private static func readFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: buf[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
