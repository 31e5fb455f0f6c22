import BennData
import BennEnsemble
import BennNN
import BennTrain
import Foundation

/// The coordinator's bookkeeping, without I/O: specs, workers, job attempts and the queue
/// of workers waiting for work. Each event (a message in, a finished background task, a
/// timer tick, a peer that stopped reading) is a `mutating` method returning the actions
/// the owner must perform (send, verify, persist, prepare, write an artifact, log), in
/// order. `Coordinator` owns the socket and threads and runs the actions; everything here
/// can be driven in a unit test with plain values.
///
/// Trust rules (docs/PROTOCOL.md, "Trust model"): only peers that said HELLO are workers;
/// only the worker a job attempt was dispatched to may deliver that attempt's RESULT or
/// FAILED; with CURVE keys a peer's key decides whether it may act as a worker, a client or
/// both. Anything else is refused and logged and counts against nothing.
public struct CoordinatorState {
    public struct Settings: Sendable {
        public var heartbeatMilliseconds = 1000
        public var liveness = 5
        public var jobTimeoutSeconds: Double = 24 * 3600
        public var maxAttempts = 3
        /// A worker's first quarantine after two failed jobs in a row (doubling, at most 5
        /// minutes); 0 never sets a worker aside.
        public var quarantineSeconds: Double = 10
        public var stateDirectory = "."
        /// With CURVE: the public keys that may act as workers and as clients. Nil without
        /// CURVE (every peer is on the loopback side of an unauthenticated socket).
        public var workerKeys: Set<String>?
        public var clientKeys: Set<String>?
        public init() {}
    }

    struct JobKey: Hashable, Sendable { var spec: String; var member: Int }

    /// A job sent to a worker: its id, holder and start. Kept after the job leaves the
    /// worker (requeued) so that the holder may still deliver it, and nobody else.
    struct Attempt: Sendable { var key: JobKey; var holder: String }

    struct Assignment { var worker: [UInt8]; var jobID: String; var started: Double }

    public let settings: Settings
    var specs: [SpecRun] = []
    var specIndex: [String: SpecRun] = [:]
    var workers: [[UInt8]: WorkerInfo] = [:]
    var assignments: [JobKey: Assignment] = [:]
    /// Every attempt of an unfinished spec, by job id.
    var attempts: [String: Attempt] = [:]
    /// Workers waiting for a job, oldest first (entries of workers gone or busy are skipped).
    var waiting: [[UInt8]] = []
    var waitingHead = 0
    var jobCounter = 0
    var nextSpecNumber = 1
    var lastHeartbeat = 0.0
    var lastSweep = 0.0
    /// Results whose files could not be written, retried from `tick` (a full disk).
    var retries: [(due: Double, task: PersistTask)] = []
    /// Seconds from a worker's result arriving to its next job leaving (latest 100,000).
    public private(set) var dispatchLatencies: [Double] = []
    /// Seconds taken to take messages of 1 MiB or more off the socket (latest 100,000).
    public private(set) var largeReceiveTimes: [Double] = []
    let heartbeatFrames = Wire.Heartbeat().frames()

    public init(settings: Settings) { self.settings = settings }

    static func record(_ series: inout [Double], _ value: Double) {
        if series.count >= 100_000 { series.removeFirst(50_000) }
        series.append(value)
    }

    mutating func recordLargeReceive(_ seconds: Double) { Self.record(&largeReceiveTimes, seconds) }
    mutating func recordDispatch(_ seconds: Double) { Self.record(&dispatchLatencies, seconds) }

    var heartbeatInterval: Double { Double(settings.heartbeatMilliseconds) / 1000 }

    // MARK: Messages in

    /// A message from a peer as frames (without the routing id): decoded, then `receive`d.
    public mutating func receive(_ frames: [[UInt8]], from peer: [UInt8], userID: String?, now: Double) -> [CoordinatorAction] {
        do {
            return receive(try Message.decode(frames), from: peer, userID: userID, now: now)
        } catch {
            return malformed(from: peer, error)
        }
    }

    /// Frames from a peer that are not a benn message.
    public func malformed(from peer: [UInt8], _ error: any Error) -> [CoordinatorAction] {
        guard !peer.isEmpty else { return [] }
        return [.log("dropped a malformed message from peer \(Self.hex(peer)): \(error)"),
                .send(peer, Wire.Refusal(.malformed, "\(error)").envelope)]
    }

    /// A decoded message from a peer. `userID` is the peer's CURVE public key as the ZAP
    /// handler admitted it (nil without CURVE).
    public mutating func receive(_ message: Message, from peer: [UInt8], userID: String?, now: Double) -> [CoordinatorAction] {
        var out: [CoordinatorAction] = []
        guard !peer.isEmpty else { return out }
        workers[peer]?.lastSeen = now
        do {
            if let refusal = roleRefusal(message.type, userID: userID) {
                out.append(.log("refused \(message.type.rawValue) from peer \(Self.hex(peer)) (key \(userID ?? "none")): \(refusal.reason)"))
                out.append(.send(peer, refusal.envelope))
                return out
            }
            switch message.type {
            case .hello: try hello(peer, Wire.Hello(message), userID: userID, now: now, &out)
            case .ready: _ = try Wire.Ready(message); ready(peer, now: now, &out)
            case .heartbeat:
                if workers[peer] == nil, try Wire.Heartbeat(message).role == "worker" {
                    out.append(.send(peer, Wire.Refusal(.helloRequired, "unknown worker; send HELLO").envelope))
                }
            case .progress:
                let p = try Wire.Progress(message)
                if let w = workers[peer] { w.progress = Sanitized.text(p.text, limit: 200) }
            case .result: try result(peer, Wire.JobResult(message), now: now, &out)
            case .failed: try failed(peer, Wire.JobFailed(message), now: now, &out)
            case .bye: bye(peer, try Wire.Bye(message), now: now, &out)
            case .fetchData: try fetchData(peer, Wire.FetchData(message), &out)
            case .submit:
                let request: Wire.SubmitSpec
                do { request = try Wire.SubmitSpec(message) } catch {
                    throw Wire.Refusal(.badSpec, "spec refused: \(error)")
                }
                submit(peer, request, &out)
            case .status: _ = try Wire.StatusRequest(message); out.append(.sendStatus(peer))
            case .fetchArtifact: try fetchArtifact(peer, Wire.FetchArtifact(message), &out)
            case .welcome, .job, .ack, .data, .accepted, .statusReply, .artifact, .error:
                throw Message.Invalid(description: "\(message.type.rawValue) is not a message a coordinator accepts")
            }
        } catch let refusal as Wire.Refusal {
            out.append(.log("refused \(message.type.rawValue) from \(peerName(peer)): \(refusal.reason)"))
            out.append(.send(peer, refusal.envelope))
        } catch {
            out.append(.log("refused \(message.type.rawValue) from \(peerName(peer)): \(error)"))
            out.append(.send(peer, Wire.Refusal(.invalid, "\(error)").envelope))
        }
        return out
    }

    /// With CURVE, whether the peer's key may send this type of message.
    func roleRefusal(_ type: MessageType, userID: String?) -> Wire.Refusal? {
        let clientMessage = type == .submit || type == .status || type == .fetchArtifact
        guard let keys = clientMessage ? settings.clientKeys : settings.workerKeys else { return nil }
        if let key = userID, keys.contains(key) { return nil }
        return Wire.Refusal(.forbidden, "this key may not act as a \(clientMessage ? "client" : "worker") (\(type.rawValue))")
    }

    /// Who a worker is for the trust rules: its CURVE key (authenticated) and the token it
    /// keeps across reconnects, or its connection when it sends no token.
    static func identity(peer: [UInt8], userID: String?, workerID: String?) -> String {
        let token = workerID.map { "id:" + Sanitized.text($0, limit: 128) } ?? "peer:" + hex(peer, bytes: 32)
        return userID.map { "key:\($0)/" + token } ?? token
    }

    func peerName(_ peer: [UInt8]) -> String { workers[peer]?.name ?? Self.hex(peer) }

    static func hex(_ bytes: [UInt8], bytes count: Int = 8) -> String {
        bytes.prefix(count).map { String(format: "%02x", $0) }.joined()
    }

    mutating func hello(_ peer: [UInt8], _ m: Wire.Hello, userID: String?, now: Double, _ out: inout [CoordinatorAction]) throws {
        let info = WorkerInfo(routingID: peer, identity: Self.identity(peer: peer, userID: userID, workerID: m.workerID), hello: m, now: now)
        let w = info.hello
        if let old = workers[peer], let job = old.job { requeue(job, reason: "worker \(w.name) joined again", &out) }
        workers[peer] = info
        out.append(.log("worker \(w.name) joined from \(w.host) (\(w.cores) cores, \(w.threads) threads, kernels \(w.kernel))"))
        out.append(.send(peer, Wire.Welcome(heartbeatMilliseconds: settings.heartbeatMilliseconds, liveness: settings.liveness).envelope))
    }

    mutating func ready(_ peer: [UInt8], now: Double, _ out: inout [CoordinatorAction]) {
        guard let w = workers[peer] else {
            out.append(.send(peer, Wire.Refusal(.helloRequired, "unknown worker; send HELLO").envelope))
            return
        }
        if w.impliedReadies > 0 {
            // The READY sent with a RESULT that already got the next job (or a place in
            // the queue): nothing to do.
            w.impliedReadies -= 1
            if w.job != nil || w.waitingForWork { return }
        }
        if let job = w.job { requeue(job, reason: "worker \(w.name) asked for new work", &out) }
        w.waitingForWork = true
        w.progress = "idle"
        if !dispatch(to: w, now: now, &out), !w.queued {
            w.queued = true
            waiting.append(w.routingID)
        }
    }

    mutating func bye(_ peer: [UInt8], _ m: Wire.Bye, now: Double, _ out: inout [CoordinatorAction]) {
        guard let w = workers.removeValue(forKey: peer) else { return }
        if let job = w.job { requeue(job, reason: "worker \(w.name) left", &out) }
        out.append(.log("worker \(w.name) left"))
        dispatchWaiting(now: now, &out)
    }

    mutating func fetchData(_ peer: [UInt8], _ m: Wire.FetchData, _ out: inout [CoordinatorAction]) throws {
        // Only workers fetch data: a peer that never said HELLO gets nothing queued for it.
        guard workers[peer] != nil else { throw Wire.Refusal(.helloRequired, "unknown worker; send HELLO before FETCH_DATA") }
        guard m.offset >= 0, m.sha256.count == 64 else {
            throw Wire.Refusal(.invalid, "no dataset file with SHA-256 \(Sanitized.text(m.sha256, limit: 16))... at offset \(m.offset)", sha256: m.sha256)
        }
        out.append(.sendChunk(peer, m))
    }

    mutating func fetchArtifact(_ peer: [UInt8], _ m: Wire.FetchArtifact, _ out: inout [CoordinatorAction]) throws {
        guard let run = specIndex[m.id] else { throw Message.Invalid(description: "no spec \(Sanitized.text(m.id, limit: 64))") }
        guard let path = run.finishedArtifact else {
            throw Message.Invalid(description: run.failure.map { "spec \(m.id) failed: \($0)" } ?? "spec \(m.id) is not finished (\(run.state.members.count)/\(run.spec.ensemble.members) members)")
        }
        out.append(.sendArtifact(peer, id: m.id, path: path))
    }

    // MARK: Peers that stop reading

    /// A message to `peer` could not be queued: its queue is full because it does not read.
    /// It is forgotten (its job goes back to the queue as a failed attempt) so nothing more
    /// is queued for it; a worker that was only slow says HELLO again when told to.
    public mutating func stalled(_ peer: [UInt8], now: Double) -> [CoordinatorAction] {
        var out: [CoordinatorAction] = []
        guard let w = workers.removeValue(forKey: peer) else { return out }
        out.append(.log("worker \(w.name) dropped: it does not read what is sent to it (\(Wire.sendHighWaterMark) messages queued)"))
        if let job = w.job { abandon(job, reason: "worker \(w.name) stopped reading", worker: w.name, &out) }
        dispatchWaiting(now: now, &out)
        return out
    }

    // MARK: Timers

    public mutating func tick(now: Double) -> [CoordinatorAction] {
        var out: [CoordinatorAction] = []
        if now - lastHeartbeat >= heartbeatInterval {
            lastHeartbeat = now
            for w in workers.values { out.append(.sendFrames(w.routingID, heartbeatFrames)) }
        }
        // Liveness, deadlines and write retries: at most every 20 ms (a pass looks at every
        // worker and job).
        guard now - lastSweep >= 0.02 else { return out }
        lastSweep = now
        var changed = false
        for (id, w) in workers where now - w.lastSeen > heartbeatInterval * Double(settings.liveness) {
            workers[id] = nil
            out.append(.log("worker \(w.name) dropped: silent for \(Int((now - w.lastSeen) * 1000)) ms"))
            // A worker that dies during a job counts as a failed attempt, so a spec that
            // kills every worker taking it stops after --max-attempts.
            if let job = w.job { abandon(job, reason: "worker \(w.name) fell silent", worker: w.name, &out) }
            changed = true
        }
        for (key, a) in assignments where now - a.started > settings.jobTimeoutSeconds {
            abandon(key, reason: "ran past the \(Int(settings.jobTimeoutSeconds)) s deadline", worker: workers[a.worker]?.name, &out)
            changed = true
        }
        if !retries.isEmpty {
            let due = retries.filter { $0.due <= now }
            retries.removeAll { $0.due <= now }
            for r in due { out.append(.persist(r.task)) }
        }
        // Quarantines that have ended: those workers may take jobs again.
        if workers.values.contains(where: { $0.quarantinedUntil > 0 && $0.quarantinedUntil <= now && $0.waitingForWork }) {
            for w in workers.values where w.quarantinedUntil > 0 && w.quarantinedUntil <= now {
                w.quarantinedUntil = 0
            }
            changed = true
        }
        if changed { dispatchWaiting(now: now, &out) }
        return out
    }
}

/// What the owner of a `CoordinatorState` must do, in order.
public enum CoordinatorAction {
    case send([UInt8], Message)
    /// Frames already encoded (heartbeats to every worker).
    case sendFrames([UInt8], [[UInt8]])
    /// A JOB; `warmStart` names the member file whose bytes go with it; `resultArrived`, when
    /// the worker's last result was taken off the socket (the dispatch latency ends at the send).
    case sendJob([UInt8], jobID: String, specID: String, job: [UInt8], dataset: [UInt8], warmStart: String?, resultArrived: Double?)
    /// A DATA chunk (or, if the file is unknown, an ERROR naming its hash).
    case sendChunk([UInt8], Wire.FetchData)
    case sendArtifact([UInt8], id: String, path: String)
    case sendStatus([UInt8])
    /// Check a result's tensors off the event loop; report `.verified` or `.refused`.
    case verify(Verification)
    /// Write a member file and journal entry (group commit); report `.durable`.
    case persist(PersistTask)
    /// Load and hash a submitted spec's data and journal it; report `.prepared` or `.prepareFailed`.
    case prepare([UInt8], SpecRun)
    /// Journal an entry and wait until it is on disk.
    case record(Journal.Entry)
    /// Journal an entry without waiting (lost only with the machine, never with the process).
    case note(Journal.Entry)
    /// Aggregate a complete spec into its artifact; report `.finished` or `.finishFailed`.
    case writeArtifact(ArtifactJob)
    case log(String)
}

/// Peer-supplied text (names, hosts, error strings) made safe for logs and `benn status`:
/// control characters, which could forge log lines or drive a terminal, become escapes,
/// and the length is capped.
enum Sanitized {
    static func text(_ s: String, limit: Int) -> String {
        var out = ""
        var kept = 0
        for scalar in s.unicodeScalars {
            if kept == limit { out += "..."; break }
            kept += 1
            switch scalar.value {
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7f..<0xa0, 0x2028, 0x2029: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
