import BennCore
import Foundation

/// Counters for `GET /metrics`, rendered in the Prometheus text exposition format
/// (version 0.0.4). Thread-safe.
public final class ServeMetrics: @unchecked Sendable {
    /// Upper bounds (seconds) of the inference latency histogram's buckets.
    public static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct Key: Hashable, Comparable {
        var endpoint: String
        var code: Int
        static func < (a: Key, b: Key) -> Bool { (a.endpoint, a.code) < (b.endpoint, b.code) }
    }

    private let lock = NSLock()
    private var requests: [Key: Int] = [:]
    private var images = 0
    private var inferences = 0
    private var bucketCounts = [Int](repeating: 0, count: ServeMetrics.latencyBuckets.count)
    private var latencySum = 0.0
    private let started = Stopwatch()

    public init() {}

    public var uptimeSeconds: Double { started.seconds }

    public func recordRequest(endpoint: String, code: Int) {
        lock.withLock { requests[Key(endpoint: endpoint, code: code), default: 0] += 1 }
    }

    public func recordInference(images count: Int, seconds: Double) {
        lock.withLock {
            images += count
            inferences += 1
            latencySum += seconds
            if let b = ServeMetrics.latencyBuckets.firstIndex(where: { seconds <= $0 }) { bucketCounts[b] += 1 }
        }
    }

    /// The requests counted for `endpoint` with status `code` (for tests).
    public func requestCount(endpoint: String, code: Int) -> Int {
        lock.withLock { requests[Key(endpoint: endpoint, code: code)] ?? 0 }
    }

    public func render(model: ServedModel) -> String {
        let (requests, images, inferences, buckets, sum) = lock.withLock { (self.requests, self.images, self.inferences, self.bucketCounts, self.latencySum) }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        family("benn_http_requests_total", "counter", "HTTP requests by endpoint (route pattern) and status code.")
        for key in requests.keys.sorted() {
            out += "benn_http_requests_total{endpoint=\"\(escape(key.endpoint))\",code=\"\(key.code)\"} \(requests[key]!)\n"
        }
        family("benn_inference_images_total", "counter", "Images classified.")
        out += "benn_inference_images_total \(images)\n"
        family("benn_inference_requests_total", "counter", "Inference calls (one per successful infer or predict request).")
        out += "benn_inference_requests_total \(inferences)\n"
        family("benn_inference_duration_seconds", "histogram", "Time computing one inference call (queue wait excluded).")
        var cumulative = 0
        for (bound, count) in zip(ServeMetrics.latencyBuckets, buckets) {
            cumulative += count
            out += "benn_inference_duration_seconds_bucket{le=\"\(format(bound))\"} \(cumulative)\n"
        }
        out += "benn_inference_duration_seconds_bucket{le=\"+Inf\"} \(inferences)\n"
        out += "benn_inference_duration_seconds_sum \(format(sum))\n"
        out += "benn_inference_duration_seconds_count \(inferences)\n"
        family("benn_model_members", "gauge", "Ensemble members used for predictions.")
        out += "benn_model_members{model=\"\(escape(model.name))\"} \(model.members)\n"
        family("benn_model_info", "gauge", "The served artifact (always 1).")
        out += "benn_model_info{model=\"\(escape(model.name))\",strategy=\"\(model.manifest.strategy.rawValue)\","
            + "aggregation=\"\(model.manifest.aggregation.rawValue)\",format_version=\"\(model.manifest.formatVersion)\","
            + "members_total=\"\(model.manifest.members.count)\"} 1\n"
        family("benn_inference_threads", "gauge", "Compute threads per inference call.")
        out += "benn_inference_threads \(model.threads)\n"
        family("benn_uptime_seconds", "gauge", "Seconds since the server started.")
        out += "benn_uptime_seconds \(format(uptimeSeconds))\n"
        return out
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    private func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)"
    }
}
