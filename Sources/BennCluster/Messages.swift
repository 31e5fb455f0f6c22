import BennCore
import BennEnsemble
import BennTrain
import Foundation

/// One protocol message of a fixed type: its fields (frame 2) and payloads (frames 3...).
/// Every message of docs/PROTOCOL.md's tables has one such type here; the coordinator,
/// worker, clients, simulated workers and tests speak through them, never through
/// string-keyed headers.
public protocol WireMessage: Sendable {
    static var type: MessageType { get }
    /// Reads the message from a decoded envelope of this type; errors name the field.
    init(_ envelope: Message) throws
    /// The envelope to send.
    var envelope: Message { get }
}

extension WireMessage {
    public func frames() -> [[UInt8]] { envelope.frames() }

}

/// The `code` of an ERROR message.
public enum ErrorCode: String, Sendable, CaseIterable {
    /// The frames are not a benn message (tag, type or JSON header).
    case malformed
    /// A field is missing, mistyped or out of range, or the request cannot be served.
    case invalid
    /// The coordinator does not know the peer as a worker: send HELLO.
    case helloRequired = "hello_required"
    /// A submitted spec was refused (bad values, data that cannot be loaded).
    case badSpec = "bad_spec"
    /// The peer may not send this: a worker message from a client key or the other way
    /// round, or a RESULT for a job attempt dispatched to another worker (a FAILED for a job
    /// the peer does not hold is ignored without a reply).
    case forbidden
}

/// A message whose fields are a flat Codable struct and that carries no payloads: its
/// header is the struct's JSON. For the messages off the hot paths; the frequent ones
/// (HEARTBEAT, RESULT, JOB, ACK) read and write their fields by hand.
public protocol HeaderOnlyMessage: WireMessage, Codable {}

extension HeaderOnlyMessage {
    public init(_ m: Message) throws {
        try m.check(Self.type)
        do {
            self = try JSONDecoder().decode(Self.self, from: Data(JSONValue.object(m.header).encoded()))
        } catch let DecodingError.keyNotFound(key, _) {
            throw Message.Invalid(description: "\(Self.type.rawValue): field '\(key.stringValue)' missing")
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw Message.Invalid(description: "\(Self.type.rawValue): field '\(field)' is not \(type == String.self ? "a string" : type == Int.self ? "an integer" : "a \(type)")")
        } catch {
            throw Message.Invalid(description: "\(Self.type.rawValue): \(error)")
        }
    }

    public var envelope: Message {
        guard case let .object(fields) = JSONValue.from(self) else { return Message(Self.type) }
        return Message(Self.type, fields)
    }
}

extension Message {
    func check(_ expected: MessageType) throws {
        guard type == expected else { throw Invalid(description: "expected \(expected.rawValue), got \(type.rawValue)") }
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let v = header[key], v != .null else { return nil }
        guard let n = v.intValue else { throw Invalid(description: "\(type.rawValue): field '\(key)' is not an integer") }
        return n
    }

    func double(_ key: String) throws -> Double {
        switch header[key] {
        case let .number(d)?: return d
        case let .int(i)?: return Double(i)
        case let .uint(u)?: return Double(u)
        default: throw Invalid(description: "\(type.rawValue): field '\(key)' missing or not a number")
        }
    }

    func bool(_ key: String, default value: Bool) throws -> Bool {
        switch header[key] {
        case nil, .null?: return value
        case let .bool(b)?: return b
        default: throw Invalid(description: "\(type.rawValue): field '\(key)' is not a boolean")
        }
    }

    func payload(_ index: Int, _ what: String) throws -> [UInt8] {
        guard index < payloads.count else { throw Invalid(description: "\(type.rawValue) without its \(what) payload") }
        return payloads[index]
    }
}

extension Wire {
    // MARK: Worker -> coordinator

    public struct Hello: WireMessage {
        public static let type = MessageType.hello
        public var name: String
        public var host: String
        public var cores: Int
        public var threads: Int
        public var kernel: String
        public var versions: [String: String]
        /// A token the worker keeps for its lifetime (across reconnects): without CURVE keys
        /// it is what ties a job attempt to the worker it was given to.
        public var workerID: String?

        public init(name: String, host: String, cores: Int, threads: Int, kernel: String,
                    versions: [String: String] = [:], workerID: String? = nil) {
            (self.name, self.host, self.cores, self.threads, self.kernel, self.versions, self.workerID) =
                (name, host, cores, threads, kernel, versions, workerID)
        }

        public init(_ m: Message) throws {
            try m.check(Self.type)
            name = try m.string("name")
            host = m.optionalString("host") ?? "?"
            cores = try m.optionalInt("cores") ?? 0
            threads = try m.optionalInt("threads") ?? 1
            kernel = m.optionalString("kernel") ?? "?"
            versions = m.header["versions"] == nil ? [:] : try m.decodeField("versions", as: [String: String].self)
            workerID = m.optionalString("worker_id")
        }

        public var envelope: Message {
            var h: [String: JSONValue] = ["name": .string(name), "host": .string(host), "cores": .integer(cores),
                                         "threads": .integer(threads), "kernel": .string(kernel), "versions": .from(versions)]
            if let workerID { h["worker_id"] = .string(workerID) }
            return Message(Self.type, h)
        }
    }

    public struct Ready: WireMessage {
        public static let type = MessageType.ready
        public init() {}
        public init(_ m: Message) throws { try m.check(Self.type) }
        public var envelope: Message { Message(Self.type) }
    }

    public struct Heartbeat: WireMessage {
        public static let type = MessageType.heartbeat
        /// `worker` from workers (a coordinator that does not know the worker asks for
        /// HELLO); absent from the coordinator.
        public var role: String?
        public init(role: String? = nil) { self.role = role }
        public init(_ m: Message) throws {
            try m.check(Self.type)
            role = m.optionalString("role")
        }
        public var envelope: Message { Message(Self.type, role.map { ["role": .string($0)] } ?? [:]) }
    }

    public struct Progress: WireMessage {
        public static let type = MessageType.progress
        public var jobID: String
        public var specID: String
        public var member: Int
        public var text: String
        public init(jobID: String, specID: String, member: Int, text: String) {
            (self.jobID, self.specID, self.member, self.text) = (jobID, specID, member, text)
        }
        public init(_ m: Message) throws {
            try m.check(Self.type)
            jobID = m.optionalString("job_id") ?? ""
            specID = m.optionalString("spec_id") ?? ""
            member = try m.optionalInt("member") ?? -1
            text = m.optionalString("text") ?? ""
        }
        public var envelope: Message {
            Message(Self.type, ["job_id": .string(jobID), "spec_id": .string(specID), "member": .integer(member), "text": .string(text)])
        }
    }

    /// A finished member: its tensors as a safetensors file and, for boosting, one byte
    /// per training sample (1 = misclassified, in training-view order).
    public struct JobResult: WireMessage {
        public static let type = MessageType.result
        public var jobID: String
        public var specID: String
        public var member: Int
        /// The epoch history as sent; decoded with `decodedHistory()` off the event loop.
        public var history: JSONValue
        public var seconds: Double
        public var tensors: [UInt8]
        public var misses: [UInt8]?

        public init(jobID: String, specID: String, member: Int, history: JSONValue, seconds: Double,
                    tensors: [UInt8], misses: [UInt8]? = nil) {
            (self.jobID, self.specID, self.member, self.history, self.seconds, self.tensors, self.misses) =
                (jobID, specID, member, history, seconds, tensors, misses)
        }

        public init(_ m: Message) throws {
            try m.check(Self.type)
            jobID = try m.string("job_id")
            specID = try m.string("spec_id")
            member = try m.int("member")
            history = m.header["history"] ?? .null
            seconds = (try? m.double("seconds")) ?? 0
            tensors = try m.payload(0, "tensor")
            misses = m.payloads.count > 1 ? m.payloads[1] : nil
        }

        public var envelope: Message {
            Message(Self.type, ["job_id": .string(jobID), "spec_id": .string(specID), "member": .integer(member),
                                "history": history, "seconds": .number(seconds)],
                    payloads: [tensors] + (misses.map { [$0] } ?? []))
        }

        public func decodedHistory() throws -> [EpochStats] {
            do { return try JSONDecoder().decode([EpochStats].self, from: Data(history.encoded())) } catch {
                throw Message.Invalid(description: "RESULT: field 'history' malformed (\(error))")
            }
        }
    }

    public struct JobFailed: WireMessage {
        public static let type = MessageType.failed
        public var jobID: String?
        public var specID: String
        public var member: Int
        public var error: String
        /// The worker refused the job because it is still on an earlier one.
        public var busy: Bool

        public init(jobID: String?, specID: String, member: Int, error: String, busy: Bool = false) {
            (self.jobID, self.specID, self.member, self.error, self.busy) = (jobID, specID, member, error, busy)
        }
        public init(_ m: Message) throws {
            try m.check(Self.type)
            jobID = m.optionalString("job_id")
            specID = try m.string("spec_id")
            member = try m.int("member")
            error = try m.string("error")
            busy = try m.bool("busy", default: false)
        }
        public var envelope: Message {
            var h: [String: JSONValue] = ["spec_id": .string(specID), "member": .integer(member), "error": .string(error)]
            if let jobID { h["job_id"] = .string(jobID) }
            if busy { h["busy"] = .bool(true) }
            return Message(Self.type, h)
        }
    }

    public struct Bye: HeaderOnlyMessage {
        public static let type = MessageType.bye
        public var jobID: String?
        public init(jobID: String? = nil) { self.jobID = jobID }
        enum CodingKeys: String, CodingKey { case jobID = "job_id" }
    }

    public struct FetchData: HeaderOnlyMessage {
        public static let type = MessageType.fetchData
        public var sha256: String
        public var offset: Int
        public init(sha256: String, offset: Int) { (self.sha256, self.offset) = (sha256, offset) }
    }

    // MARK: Coordinator -> worker

    public struct Welcome: HeaderOnlyMessage {
        public static let type = MessageType.welcome
        public var heartbeatMilliseconds: Int
        public var liveness: Int
        public init(heartbeatMilliseconds: Int, liveness: Int) { (self.heartbeatMilliseconds, self.liveness) = (heartbeatMilliseconds, liveness) }
        enum CodingKeys: String, CodingKey { case liveness, heartbeatMilliseconds = "heartbeat_ms" }
    }

    /// A member job, with the warm-start tensors when the job starts from another member.
    public struct JobOffer: WireMessage {
        public static let type = MessageType.job
        public var jobID: String
        public var specID: String
        public var job: MemberJob
        public var dataset: DatasetManifest
        public var warmStart: [UInt8]?

        public init(jobID: String, specID: String, job: MemberJob, dataset: DatasetManifest, warmStart: [UInt8]? = nil) {
            (self.jobID, self.specID, self.job, self.dataset, self.warmStart) = (jobID, specID, job, dataset, warmStart)
        }

        public init(_ m: Message) throws {
            try m.check(Self.type)
            jobID = try m.string("job_id")
            specID = try m.string("spec_id")
            job = try m.decodeField("job", as: MemberJob.self)
            dataset = try m.decodeField("dataset", as: DatasetManifest.self)
            if try m.bool("warm_start", default: false) {
                guard let w = m.payloads.first else { throw Message.Invalid(description: "JOB says warm_start but carries no tensors") }
                warmStart = w
            }
        }

        public var envelope: Message {
            Self.envelope(jobID: jobID, specID: specID, job: Self.json(job, spec: JSONValue.from(job.spec).encoded()),
                          dataset: JSONValue.from(dataset).encoded(), warmStart: warmStart)
        }

        /// The envelope from pieces already encoded as JSON: the coordinator encodes a spec
        /// and its manifest once, not once per job.
        public static func envelope(jobID: String, specID: String, job: [UInt8], dataset: [UInt8], warmStart: [UInt8]?) -> Message {
            Message(type, encodedFields: [
                ("job_id", JSONValue.string(jobID).encoded()), ("spec_id", JSONValue.string(specID).encoded()),
                ("job", job), ("dataset", dataset), ("warm_start", JSONValue.bool(warmStart != nil).encoded()),
            ], payloads: warmStart.map { [$0] } ?? [])
        }

        /// A member job as the JSON text of `MemberJob`, written directly: the spec is
        /// encoded once per spec, and boosting weights (one per training sample) go straight
        /// to text.
        public static func json(_ job: MemberJob, spec: [UInt8]) -> [UInt8] {
            func u64(_ v: UInt64) -> [UInt8] { Array(String(v).utf8) }
            func numbers(_ weights: [Double]) -> [UInt8] {
                var out: [UInt8] = [0x5b]
                out.reserveCapacity(weights.count * 22)
                for (i, w) in weights.enumerated() {
                    if i > 0 { out.append(0x2c) }
                    if w.isFinite { out += w.description.utf8 } else { out += Array("null".utf8) }
                }
                out.append(0x5d)
                return out
            }
            func object(_ fields: [(String, [UInt8])]) -> [UInt8] {
                Message(.job, encodedFields: fields).encodedHeader!
            }
            let sampling: [UInt8]
            switch job.sampling {
            case .full: sampling = object([("full", Array("{}".utf8))])
            case let .bootstrap(seed): sampling = object([("bootstrap", object([("seed", u64(seed))]))])
            case let .resample(weights, seed): sampling = object([("resample", object([("weights", numbers(weights)), ("seed", u64(seed))]))])
            case let .weightedLoss(weights): sampling = object([("weightedLoss", object([("weights", numbers(weights))]))])
            }
            var fields: [(String, [UInt8])] = [
                ("member", Array(String(job.member).utf8)), ("spec", spec), ("memberSeed", u64(job.memberSeed)),
                ("sampling", sampling), ("needsTrainingMisses", Array((job.needsTrainingMisses ? "true" : "false").utf8)),
            ]
            if let w = job.warmStartFrom { fields.append(("warmStartFrom", Array(String(w).utf8))) }
            return object(fields)
        }

    }

    public struct Ack: WireMessage {
        public static let type = MessageType.ack
        public var jobID: String
        /// The result was dropped as a copy of a member already applied.
        public var duplicate: Bool
        public init(jobID: String, duplicate: Bool) { (self.jobID, self.duplicate) = (jobID, duplicate) }
        public init(_ m: Message) throws {
            try m.check(Self.type)
            jobID = try m.string("job_id")
            duplicate = try m.bool("duplicate", default: false)
        }
        public var envelope: Message { Message(Self.type, ["job_id": .string(jobID), "duplicate": .bool(duplicate)]) }
    }

    public struct DataChunk: WireMessage {
        public static let type = MessageType.data
        public var sha256: String
        public var offset: Int
        public var bytes: [UInt8]
        public init(sha256: String, offset: Int, bytes: [UInt8]) { (self.sha256, self.offset, self.bytes) = (sha256, offset, bytes) }
        public init(_ m: Message) throws {
            try m.check(Self.type)
            sha256 = try m.string("sha256")
            offset = try m.int("offset")
            bytes = try m.payload(0, "chunk")
        }
        public var envelope: Message { Message(Self.type, ["sha256": .string(sha256), "offset": .integer(offset)], payloads: [bytes]) }
    }

    /// ERROR: a message was refused, with the reason.
    public struct Refusal: WireMessage, Error, CustomStringConvertible {
        public static let type = MessageType.error
        public var reason: String
        /// Unknown codes from newer peers read as `invalid`.
        public var code: ErrorCode
        /// The dataset file a refused FETCH_DATA asked for.
        public var sha256: String?
        /// The job whose RESULT was refused: the worker forgets that result.
        public var jobID: String?
        public init(_ code: ErrorCode, _ reason: String, sha256: String? = nil, jobID: String? = nil) {
            (self.code, self.reason, self.sha256, self.jobID) = (code, reason, sha256, jobID)
        }
        public init(_ m: Message) throws {
            try m.check(Self.type)
            reason = m.optionalString("reason") ?? "refused"
            code = m.optionalString("code").flatMap(ErrorCode.init(rawValue:)) ?? .invalid
            sha256 = m.optionalString("sha256")
            jobID = m.optionalString("job_id")
        }
        public var envelope: Message {
            var h: [String: JSONValue] = ["reason": .string(reason), "code": .string(code.rawValue)]
            if let sha256 { h["sha256"] = .string(sha256) }
            if let jobID { h["job_id"] = .string(jobID) }
            return Message(Self.type, h)
        }
        public var description: String { reason }
    }

    // MARK: Client <-> coordinator

    public struct SubmitSpec: WireMessage {
        public static let type = MessageType.submit
        public var spec: TrainingSpec
        /// A plain file name for the artifact in the coordinator's `artifacts/`.
        public var output: String?
        public init(spec: TrainingSpec, output: String?) { (self.spec, self.output) = (spec, output) }
        public init(_ m: Message) throws {
            try m.check(Self.type)
            spec = try m.decodeField("spec", as: TrainingSpec.self)
            output = m.optionalString("output")
        }
        public var envelope: Message {
            var h: [String: JSONValue] = ["spec": .from(spec)]
            if let output { h["output"] = .string(output) }
            return Message(Self.type, h)
        }
    }

    public struct Accepted: HeaderOnlyMessage {
        public static let type = MessageType.accepted
        public var id: String
        public init(id: String) { self.id = id }
    }

    public struct StatusRequest: WireMessage {
        public static let type = MessageType.status
        public init() {}
        public init(_ m: Message) throws { try m.check(Self.type) }
        public var envelope: Message { Message(Self.type) }
    }

    public struct StatusReply: WireMessage {
        public static let type = MessageType.statusReply
        public var status: ClusterStatus
        public init(_ status: ClusterStatus) { self.status = status }
        public init(_ m: Message) throws {
            try m.check(Self.type)
            do {
                status = try JSONDecoder().decode(ClusterStatus.self, from: Data(JSONValue.object(m.header).encoded()))
            } catch {
                throw Message.Invalid(description: "STATUS_REPLY malformed (\(error))")
            }
        }
        public var envelope: Message { Message(Self.type, status.fields) }
    }

    public struct FetchArtifact: HeaderOnlyMessage {
        public static let type = MessageType.fetchArtifact
        public var id: String
        public init(id: String) { self.id = id }
    }

    public struct ArtifactReply: WireMessage {
        public static let type = MessageType.artifact
        public var id: String
        public var path: String
        public var bytes: [UInt8]
        public init(id: String, path: String, bytes: [UInt8]) { (self.id, self.path, self.bytes) = (id, path, bytes) }
        public init(_ m: Message) throws {
            try m.check(Self.type)
            id = try m.string("id")
            path = m.optionalString("path") ?? ""
            bytes = try m.payload(0, "artifact")
        }
        public var envelope: Message { Message(Self.type, ["id": .string(id), "path": .string(path)], payloads: [bytes]) }
    }

    /// The Swift type of every message type, for tests that check the protocol document.
    public static let messageTypes: [MessageType: any WireMessage.Type] = [
        .hello: Hello.self, .welcome: Welcome.self, .ready: Ready.self, .job: JobOffer.self, .progress: Progress.self,
        .result: JobResult.self, .failed: JobFailed.self, .ack: Ack.self, .heartbeat: Heartbeat.self, .bye: Bye.self,
        .fetchData: FetchData.self, .data: DataChunk.self, .submit: SubmitSpec.self, .accepted: Accepted.self,
        .status: StatusRequest.self, .statusReply: StatusReply.self, .fetchArtifact: FetchArtifact.self,
        .artifact: ArtifactReply.self, .error: Refusal.self,
    ]
}

/// What `STATUS` answers: specs, workers and the event loop's own figures.
public struct ClusterStatus: Codable, Sendable, Equatable {
    public struct Spec: Codable, Sendable, Equatable {
        public var id: String
        public var model: String
        public var strategy: String
        /// queued, running, finished or failed.
        public var state: String
        /// Members whose results are on the coordinator's disk.
        public var membersDone: Int
        public var members: Int
        public var running: [Int]
        public var artifact: String?
        public var error: String?
        public var stopReason: String?
        /// Why the last write of a member failed, while it is being retried.
        public var writeError: String?
        enum CodingKeys: String, CodingKey {
            case id, model, strategy, state, members, running, artifact, error
            case membersDone = "members_done", stopReason = "stop_reason", writeError = "write_error"
        }
    }

    public struct Worker: Codable, Sendable, Equatable {
        public var name: String
        public var host: String
        public var cores: Int
        public var threads: Int
        public var kernel: String
        /// `SPEC/mMEMBER` of the job it holds.
        public var job: String?
        public var progress: String
        public var lastHeartbeatMsAgo: Int
        enum CodingKeys: String, CodingKey {
            case name, host, cores, threads, kernel, job, progress
            case lastHeartbeatMsAgo = "last_heartbeat_ms_ago"
        }
    }

    /// Milliseconds over the latest samples.
    public struct Latency: Codable, Sendable, Equatable {
        public var count: Int
        public var median: Double?
        public var p99: Double?
    }

    public var specs: [Spec]
    public var workers: [Worker]
    /// From a worker's result arriving to its next job leaving.
    public var dispatchLatencyMs: Latency
    /// Taking messages of 1 MiB or more off the socket.
    public var largeReceiveMs: Latency
    /// CPU time of the event loop thread so far.
    public var eventLoopCpuS: Double

    enum CodingKeys: String, CodingKey {
        case specs, workers
        case dispatchLatencyMs = "dispatch_latency_ms", largeReceiveMs = "large_receive_ms", eventLoopCpuS = "event_loop_cpu_s"
    }

    /// The STATUS_REPLY fields, built directly: a status of a thousand workers through
    /// Foundation's encoder cost the event loop milliseconds per request.
    var fields: [String: JSONValue] {
        func string(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        func latency(_ l: Latency) -> JSONValue {
            .object(["count": .integer(l.count), "median": l.median.map { .number($0) } ?? .null, "p99": l.p99.map { .number($0) } ?? .null])
        }
        let specList: [JSONValue] = specs.map { s in
            var o: [String: JSONValue] = ["id": .string(s.id), "model": .string(s.model), "strategy": .string(s.strategy),
                                          "state": .string(s.state), "members_done": .integer(s.membersDone),
                                          "members": .integer(s.members), "running": .array(s.running.map { .integer($0) })]
            for (key, value) in [("artifact", s.artifact), ("error", s.error), ("stop_reason", s.stopReason), ("write_error", s.writeError)] {
                if let value { o[key] = .string(value) }
            }
            return .object(o)
        }
        let workerList: [JSONValue] = workers.map { w in
            .object(["name": .string(w.name), "host": .string(w.host), "cores": .integer(w.cores), "threads": .integer(w.threads),
                     "kernel": .string(w.kernel), "job": string(w.job), "progress": .string(w.progress),
                     "last_heartbeat_ms_ago": .integer(w.lastHeartbeatMsAgo)])
        }
        return ["specs": .array(specList), "workers": .array(workerList), "dispatch_latency_ms": latency(dispatchLatencyMs),
                "large_receive_ms": latency(largeReceiveMs), "event_loop_cpu_s": .number(eventLoopCpuS)]
    }
}
