import BennTensor
import Dispatch
import Foundation

/// Throughput of the server over loopback against the same inference called in-process,
/// for a few batch sizes (`benn serve ARTIFACT --bench`).
public enum ServeBenchmark {
    public struct Row: Sendable, Codable {
        public var batch: Int
        public var connections: Int
        public var requests: Int
        public var seconds: Double
        public var requestsPerSecond: Double
        public var imagesPerSecond: Double
        /// Direct `EnsembleInference` on the same batch, same threads, no HTTP.
        public var directImagesPerSecond: Double
        /// Served images/s over direct images/s.
        public var ratio: Double
        public var requestBytes: Int
    }

    /// Deterministic pseudo-random pixel bytes for `count` images.
    public static func pixels(count: Int, perImage: Int, seed: UInt64 = 1) -> [UInt8] {
        var state = seed
        return (0..<(count * perImage)).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    /// A V2 infer body (UINT8, shape [n] + input shape) for these pixels.
    public static func inferBody(pixels: [UInt8], count: Int, model: ServedModel) -> [UInt8] {
        let shape = ([count] + model.inputShape).map(String.init).joined(separator: ",")
        var s = #"{"inputs":[{"name":"images","shape":["# + shape + #"],"datatype":"UINT8","data":["#
        s.reserveCapacity(s.utf8.count + pixels.count * 4 + 16)
        for (i, p) in pixels.enumerated() {
            if i > 0 { s += "," }
            s += String(p)
        }
        s += "]}]}"
        return Array(s.utf8)
    }

    /// Runs `seconds` of requests per batch size on `connections` keep-alive connections,
    /// and the same batch in-process for as long, alternating every half second.
    public static func run(model: ServedModel, port: Int, host: String = "127.0.0.1", batches: [Int] = [1, 256],
                           connections: Int = 1, seconds: Double = 3, log: (String) -> Void = { _ in }) throws -> [Row] {
        var rows: [Row] = []
        for batch in batches {
            let px = pixels(count: batch, perImage: model.pixelsPerImage)
            let body = inferBody(pixels: px, count: batch, model: model)
            let path = "/v2/models/\(model.name)/infer"
            // Warm-up, and a check that the server answers this request.
            let warm = try LoopbackClient(host: host, port: port)
            for _ in 0..<3 {
                let r = try warm.request("POST", path, body: body, contentType: "application/json")
                guard r.status == 200 else { throw LoopbackClient.ClientError(description: "warm-up request got \(r.status): \(r.text)") }
            }
            // Served and direct alternate in short slices, so that other load on the machine
            // weighs on both alike.
            let x = model.modelInputs(pixels: px, count: batch)
            _ = model.inference.scores(x, threads: model.threads)
            let slices = max(1, Int((seconds / 0.5).rounded()))
            var served = (requests: 0, seconds: 0.0)
            var calls = 0
            var elapsed = 0.0
            for _ in 0..<slices {
                let part = try load(host: host, port: port, path: path, body: body, connections: connections, seconds: seconds / Double(slices))
                served.requests += part.requests
                served.seconds += part.seconds
                let start = DispatchTime.now().uptimeNanoseconds
                var sliceElapsed = 0.0
                repeat {
                    _ = model.inference.scores(x, threads: model.threads)
                    calls += 1
                    sliceElapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                } while sliceElapsed < seconds / Double(slices) && calls < 10_000_000
                elapsed += sliceElapsed
            }
            let direct = Double(calls * batch) / elapsed
            let imagesPerSecond = Double(served.requests * batch) / served.seconds
            let row = Row(batch: batch, connections: connections, requests: served.requests, seconds: served.seconds,
                          requestsPerSecond: Double(served.requests) / served.seconds, imagesPerSecond: imagesPerSecond,
                          directImagesPerSecond: direct, ratio: imagesPerSecond / direct, requestBytes: body.count)
            log("batch \(batch): \(row.requests) requests in \(fmt(row.seconds, 2)) s on \(connections) connection(s): "
                + "\(fmt(row.requestsPerSecond, 1)) requests/s, \(fmt(row.imagesPerSecond, 0)) images/s; "
                + "direct EnsembleInference \(fmt(direct, 0)) images/s; served/direct \(fmt(row.ratio, 3))")
            rows.append(row)
        }
        return rows
    }

    private final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var requests = 0
        var failure: String?
    }

    private static func load(host: String, port: Int, path: String, body: [UInt8], connections: Int,
                             seconds: Double) throws -> (requests: Int, seconds: Double) {
        let tally = Tally()
        let group = DispatchGroup()
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(seconds * 1e9)
        for _ in 0..<max(1, connections) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    let client = try LoopbackClient(host: host, port: port)
                    var n = 0
                    // Bounded in time and in count.
                    while DispatchTime.now().uptimeNanoseconds < deadline && n < 1_000_000 {
                        let r = try client.request("POST", path, body: body, contentType: "application/json")
                        guard r.status == 200 else { throw LoopbackClient.ClientError(description: "got \(r.status): \(r.text)") }
                        n += 1
                    }
                    tally.lock.withLock { tally.requests += n }
                } catch {
                    tally.lock.withLock { tally.failure = "\(error)" }
                }
            }
            thread.start()
        }
        group.wait()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let f = tally.failure { throw LoopbackClient.ClientError(description: "load generator: \(f)") }
        return (tally.requests, elapsed)
    }

    static func fmt(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
}
