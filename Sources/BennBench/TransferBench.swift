import BennCluster
import BennTransport
import Foundation

/// Dataset transfer to a new worker, measured from the worker's own log, against what
/// libzmq alone moves over loopback in the same command.
public enum TransferBench {
    public struct Run: Codable { public var bytes: Int; public var seconds: Double; public var megabytesPerSecond: Double }
    public struct Raw: Codable {
        /// "stream": every chunk sent at once; "window N": N requests outstanding, each
        /// answered with one chunk (the fetch protocol's pattern with no benn code around it).
        public var pattern: String
        public var megabytesPerSecond: Double
        public init(pattern: String, megabytesPerSecond: Double) {
            self.pattern = pattern
            self.megabytesPerSecond = megabytesPerSecond
        }
    }
    public struct Report: Codable {
        var runs: [Run]
        var medianMegabytesPerSecond: Double
        var raw: [Raw]
        /// The median transfer over the best raw pattern.
        var fractionOfRaw: Double
        public init(runs: [Run], medianMegabytesPerSecond: Double, raw: [Raw], fractionOfRaw: Double) {
            self.runs = runs
            self.medianMegabytesPerSecond = medianMegabytesPerSecond
            self.raw = raw
            self.fractionOfRaw = fractionOfRaw
        }
    }

    /// The dataset fetch of one fresh worker, from the worker log's timestamps: from taking
    /// the job (its first FETCH_DATA leaves right after) to the last file stored (hash
    /// checked, written to the cache).
    public static func fetchFromLog(_ text: String) -> Run? {
        var start: Double?, end: Double?, bytes = 0
        func stamp(_ line: Substring) -> Double? {
            // "[HH:MM:SS.mmm] ..."
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
            let parts = line[line.index(after: line.startIndex)..<close].split(separator: ":")
            guard parts.count == 3, let h = Double(parts[0]), let m = Double(parts[1]), let s = Double(parts[2]) else { return nil }
            return h * 3600 + m * 60 + s
        }
        for line in text.split(separator: "\n") {
            guard let t = stamp(line) else { continue }
            if start == nil, line.contains("] job "), line.contains(": member ") { start = t }
            // "fetched NAME (N bytes)"
            if start != nil, let r = line.range(of: "] fetched "), let open = line[r.upperBound...].firstIndex(of: "("),
               let n = Int(line[line.index(after: open)...].prefix { $0.isNumber }) {
                bytes += n
                end = t
            }
        }
        guard let s = start, var e = end, bytes > 0 else { return nil }
        if e < s { e += 86400 }  // past midnight
        let seconds = max(e - s, 0.001)
        return Run(bytes: bytes, seconds: seconds, megabytesPerSecond: Double(bytes) / seconds / 1e6)
    }

    /// Moves `total` bytes in `Wire.chunkBytes` messages from a ROUTER thread to a DEALER
    /// over loopback TCP; `window` nil streams them, otherwise the DEALER keeps `window`
    /// requests outstanding. Returns MB/s as the DEALER sees it.
    public static func rawThroughput(total: Int, window: Int?) throws -> Double {
        let chunk = [UInt8](repeating: 0x5a, count: Wire.chunkBytes)
        let chunks = (total + chunk.count - 1) / chunk.count
        let endpoint = LockedValue<String?>(nil)
        let bound = DispatchSemaphore(value: 0)
        let context = try ZMQContext()
        defer { context.shutdown() }
        let server = Thread {
            guard let router = try? ZMQSocket(context: context, type: .router) else { bound.signal(); return }
            defer { router.close() }
            try? router.setLinger(milliseconds: 0)
            try? router.setSendHighWaterMark(0)
            guard (try? router.bind("tcp://127.0.0.1:*")) != nil else { bound.signal(); return }
            endpoint.set(try? router.lastEndpoint())
            bound.signal()
            var sent = 0
            while sent < chunks {
                guard let frames = try? router.receive(timeoutMilliseconds: 10_000), frames.count == 2 else { return }
                if window == nil {
                    for _ in 0..<chunks { _ = try? router.send([frames[0], chunk]) }
                    sent = chunks
                } else {
                    _ = try? router.send([frames[0], chunk])
                    sent += 1
                }
            }
            // Stay until the DEALER has everything (closing drops what is queued).
            _ = try? router.receive(timeoutMilliseconds: 10_000)
        }
        server.start()
        bound.wait()
        guard let ep = endpoint.get() else { throw BenchError("the raw ROUTER could not bind on loopback") }
        let dealer = try ZMQSocket(context: context, type: .dealer)
        defer { dealer.close() }
        try dealer.setLinger(milliseconds: 0)
        try dealer.setReceiveHighWaterMark(0)
        try dealer.connect(ep)
        let start = Date()
        var requested = 0, received = 0, bytes = 0
        func request() throws { try dealer.send([[1]]); requested += 1 }
        try request()
        while received < chunks {
            if let w = window { while requested < chunks, requested - received < w { try request() } }
            guard let frames = try dealer.receive(timeoutMilliseconds: 10_000) else { throw BenchError("raw throughput: no chunk within 10 s") }
            bytes += frames[0].count
            received += 1
        }
        let seconds = Date().timeIntervalSince(start)
        try dealer.send([[0]])
        while !server.isFinished { Thread.sleep(forTimeInterval: 0.001) }
        return Double(bytes) / seconds / 1e6
    }
}

/// A value shared between two threads.
public final class LockedValue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    public init(_ value: T) { self.value = value }
    public func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    public func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
}
