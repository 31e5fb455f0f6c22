import BennBLAS
import BennData
import BennEnsemble
import BennKernels
import BennNN
import BennTensor
import BennTrain
import BennTransport
import Dispatch
import Foundation

/// Settings of a coordinator.
public struct CoordinatorConfig: Sendable {
    public var bind: String
    public var stateDirectory: String
    public var heartbeatMilliseconds: Int = 1000
    /// Heartbeat intervals without a word before a worker is dropped.
    public var liveness: Int = 5
    /// A job running longer than this is dispatched again.
    public var jobTimeoutSeconds: Double = 24 * 3600
    /// Attempts per job before its spec is reported failed.
    public var maxAttempts: Int = 3
    /// CURVE: the coordinator's secret key and the client public keys it serves.
    public var curveSecretKey: String?
    public var allowedClientKeys: Set<String> = []

    public init(bind: String, stateDirectory: String) {
        self.bind = bind
        self.stateDirectory = stateDirectory
    }
}

/// The coordinator: accepts specs, plans them into member jobs, dispatches them to workers
/// that ask for work, applies results exactly once, journals everything that matters and
/// writes each finished spec's artifact. One thread owns the ROUTER socket.
public final class Coordinator {
    struct JobKey: Hashable, Sendable, Codable { var spec: String; var member: Int }

    final class SpecRun {
        let id: String
        let spec: TrainingSpec
        let output: String?
        var state: EnsembleState
        var data: EnsembleData?
        var dataset: DatasetManifest?
        var model: ModelDescription?
        var classNames: [String] = []
        var datasetHash = ""
        var memberFiles: [Int: String] = [:]
        /// Name and shape of every tensor a member of this spec must return.
        var expectedShapes: [String: [Int]] = [:]
        var attempts: [Int: Int] = [:]
        var finishedArtifact: String?
        /// Member writes queued on the journal thread and not yet durable.
        var pendingWrites = 0
        var failure: String?
        init(id: String, spec: TrainingSpec, output: String?, state: EnsembleState) {
            self.id = id
            self.spec = spec
            self.output = output
            self.state = state
        }
        var isDone: Bool { finishedArtifact != nil || failure != nil }
    }

    struct Assignment { var worker: [UInt8]; var jobID: String; var started: Double }

    final class WorkerInfo {
        let routingID: [UInt8]
        var name: String
        var host: String
        var cores: Int
        var threads: Int
        var kernel: String
        var versions: [String: String]
        var lastSeen: Double
        var job: JobKey?
        var progress: String = ""
        var waitingForWork = false
        /// When this worker's last result arrived, until its next job leaves.
        var resultArrivedAt: Double?
        init(routingID: [UInt8], name: String, host: String, cores: Int, threads: Int, kernel: String, versions: [String: String], now: Double) {
            self.routingID = routingID
            self.name = name
            self.host = host
            self.cores = cores
            self.threads = threads
            self.kernel = kernel
            self.versions = versions
            self.lastSeen = now
        }
    }

    public let config: CoordinatorConfig
    let log: @Sendable (String) -> Void
    let context: ZMQContext
    let socket: ZMQSocket
    let journal: Journal
    var authenticator: ZAPAuthenticator?
    var specs: [SpecRun] = []
    var workers: [[UInt8]: WorkerInfo] = [:]
    var assignments: [JobKey: Assignment] = [:]
    let datasets = DatasetServer()
    /// Every journal write runs on this serial queue, in order, so slow fsyncs of large
    /// member files do not hold up dispatching; ACKs are sent once a write is durable.
    let writer = DispatchQueue(label: "benn.coordinator.journal")
    let durable = LockedQueue<(peer: [UInt8], jobID: String, spec: String, note: String, error: String?)>()
    var lastHeartbeat = 0.0
    var jobCounter = 0
    /// Seconds from a worker's result arriving to its next job leaving (including the
    /// ACK/READY round trip), per dispatch, for `benn status` and benchmarks.
    public private(set) var dispatchLatencies: [Double] = []

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    public init(config: CoordinatorConfig, log: @escaping @Sendable (String) -> Void) throws {
        self.config = config
        self.log = log
        journal = try Journal(directory: config.stateDirectory)
        context = try ZMQContext()
        if let secret = config.curveSecretKey {
            authenticator = try ZAPAuthenticator(context: context, allowedPublicKeys: config.allowedClientKeys) { decision in
                if !decision.accepted {
                    log("refused a connection from \(decision.address): key \(decision.clientPublicKey ?? "none") is not on the allow list")
                }
            }
            socket = try ZMQSocket(context: context, type: .router)
            try socket.makeCurveServer(keyPair: try CurveKeyPair(secretKey: secret))
        } else {
            socket = try ZMQSocket(context: context, type: .router)
        }
        try socket.setLinger(milliseconds: 0)
        try socket.setMaxMessageSize(Wire.maxMessageBytes)
        try socket.setRouterMandatory(true)
        try socket.setSendHighWaterMark(100_000)
        try socket.setReceiveHighWaterMark(100_000)
        try socket.bind(config.bind)
        try restore()
    }

    deinit {
        socket.close()
        authenticator?.stop()
        context.shutdown()
    }

    /// The endpoint actually bound (with the real port when bound to port 0 / `*`).
    public var endpoint: String { (try? socket.lastEndpoint()) ?? config.bind }

    // MARK: Specs

    /// Replays the journal: specs, applied members, finished artifacts.
    func restore() throws {
        for entry in try journal.replay() {
            switch entry {
            case let .spec(id, spec, output, _):
                let run = SpecRun(id: id, spec: spec, output: output, state: EnsembleState(spec: spec, trainingCount: 0, classes: 0))
                specs.append(run)
            case let .member(id, member, file, state):
                guard let run = specs.first(where: { $0.id == id }) else { continue }
                run.state = state
                if let file { run.memberFiles[member] = file }
            case let .finished(id, artifact):
                specs.first { $0.id == id }?.finishedArtifact = artifact
            case let .failed(id, reason):
                specs.first { $0.id == id }?.failure = reason
            }
        }
        jobCounter = specs.count * 1000
        for run in specs where !run.isDone {
            do {
                try prepare(run)
                log("resumed spec \(run.id): \(run.state.members.count) of \(run.spec.ensemble.members) members already done")
                if run.state.isComplete { try finish(run) }
            } catch {
                run.failure = "cannot resume: \(error)"
                try? record(.failed(id: run.id, reason: run.failure!))
                log("spec \(run.id) failed: \(run.failure!)")
            }
        }
    }

    /// Appends a journal entry after every queued write (keeps the journal in order).
    func record(_ entry: Journal.Entry) throws {
        let journal = self.journal
        try writer.sync { try journal.append(entry) }
    }

    /// Loads a spec's data, registers its files for workers and sets up its state.
    func prepare(_ run: SpecRun) throws {
        let trainImages = try FashionMNIST.load(directory: run.spec.data.directory, split: .train)
        let testImages = try FashionMNIST.load(directory: run.spec.data.directory, split: .test)
        let data = try EnsembleData.make(spec: run.spec, trainImages: trainImages, testImages: testImages)
        run.data = data
        run.dataset = try datasets.register(directory: run.spec.data.directory)
        run.model = try run.spec.modelDescription(inputShape: [trainImages.height, trainImages.width, 1],
                                             classes: trainImages.classCount)
        run.classNames = trainImages.classNames
        run.expectedShapes = Dictionary(uniqueKeysWithValues: try Sequential(run.model!, seed: 0).namedTensors.map { ($0.name, $0.tensor.shape) })
        run.datasetHash = trainImages.contentHash
        if run.state.trainingCount == 0 {
            run.state = EnsembleState(spec: run.spec, trainingCount: data.training.count, classes: trainImages.classCount)
        }
    }

    /// Queues a spec; returns its id. Errors (bad spec, missing data) are thrown, not queued.
    @discardableResult
    public func submit(_ spec: TrainingSpec, output: String?) throws -> String {
        try spec.validate()
        var s = spec
        if s.ensemble.strategy == .single { s.ensemble.members = 1 }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let digest = SHA256.hexDigest(Array(try encoder.encode(s)))
        let id = "s\(specs.count + 1)-\(digest.prefix(8))"
        let run = SpecRun(id: id, spec: s, output: output, state: EnsembleState(spec: s, trainingCount: 0, classes: 0))
        try prepare(run)
        try record(.spec(id: id, spec: s, output: output, submitted: ISO8601DateFormatter().string(from: Date())))
        specs.append(run)
        log("accepted spec \(id): \(s.ensemble.strategy.rawValue) of \(s.ensemble.members) \(s.model) members, \(s.train.epochs) epochs each")
        return id
    }

    // MARK: Event loop

    /// Serves until `shouldStop` returns true (checked at least every 100 ms).
    public func run(until shouldStop: () -> Bool) {
        log("coordinator listening on \(endpoint)\(config.curveSecretKey == nil ? " (no encryption)" : " (CURVE, \(config.allowedClientKeys.count) allowed keys)")")
        while !shouldStop() {
            do {
                if let frames = try socket.receive(timeoutMilliseconds: 50) {
                    handle(frames)
                    // Drain what is queued before timers, so bursts are served promptly.
                    var budget = 256
                    while budget > 0, let more = try socket.receive(timeoutMilliseconds: 0) {
                        handle(more)
                        budget -= 1
                    }
                }
                drainDurable()
                tick()
            } catch {
                log("socket error: \(error)")
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    func send(_ to: [UInt8], _ message: Message) {
        do {
            _ = try socket.send([to] + message.frames(), dontWait: true)
        } catch {
            // A peer that went away (EHOSTUNREACH with ROUTER_MANDATORY) is handled by liveness.
        }
    }

    func handle(_ frames: [[UInt8]]) {
        guard let from = frames.first, !from.isEmpty else { return }
        let message: Message
        do {
            message = try Message.decode(Array(frames.dropFirst()))
        } catch {
            log("dropped a malformed message from peer \(hex(from)): \(error)")
            send(from, Message(.error, ["reason": .string("\(error)"), "code": .string("malformed")]))
            return
        }
        workers[from]?.lastSeen = Coordinator.now()
        do {
            switch message.type {
            case .hello: try hello(from, message)
            case .ready: ready(from)
            case .heartbeat:
                if workers[from] == nil, message.optionalString("role") == "worker" {
                    send(from, Message(.error, ["reason": .string("unknown worker; send HELLO"), "code": .string("hello_required")]))
                }
            case .progress:
                if let w = workers[from] { w.progress = message.optionalString("text") ?? "" }
            case .result: try result(from, message)
            case .failed: try failed(from, message)
            case .bye: bye(from, message)
            case .fetchData: try fetchData(from, message)
            case .submit:
                let spec = try message.decodeField("spec", as: TrainingSpec.self)
                do {
                    // A remote client may only name the artifact, never choose where the
                    // coordinator writes: the file goes into the state directory's artifacts/.
                    var output: String? = nil
                    if let name = message.optionalString("output") {
                        guard Coordinator.isPlainFileName(name) else {
                            throw Message.Invalid(description: "output must be a plain file name (letters, digits, '.', '-', '_'), got '\(name.prefix(64))'")
                        }
                        output = "\(config.stateDirectory)/artifacts/\(name)"
                    }
                    let id = try submit(spec, output: output)
                    send(from, Message(.accepted, ["id": .string(id)]))
                    dispatchWaiting()
                } catch {
                    send(from, Message(.error, ["reason": .string("spec refused: \(error)"), "code": .string("bad_spec")]))
                }
            case .status: send(from, Message(.statusReply, statusReport()))
            case .fetchArtifact: try fetchArtifact(from, message)
            case .welcome, .job, .ack, .data, .accepted, .statusReply, .artifact, .error:
                throw Message.Invalid(description: "\(message.type.rawValue) is not a message a coordinator accepts")
            }
        } catch {
            log("refused \(message.type.rawValue) from \(workers[from]?.name ?? hex(from)): \(error)")
            send(from, Message(.error, ["reason": .string("\(error)"), "code": .string("invalid")]))
        }
    }

    func hello(_ from: [UInt8], _ m: Message) throws {
        let name = try m.string("name")
        let info = WorkerInfo(routingID: from, name: name, host: m.optionalString("host") ?? "?",
                              cores: (try? m.int("cores")) ?? 0, threads: (try? m.int("threads")) ?? 1,
                              kernel: m.optionalString("kernel") ?? "?",
                              versions: (try? m.decodeField("versions", as: [String: String].self)) ?? [:], now: Coordinator.now())
        if let old = workers[from], let job = old.job { requeue(job, reason: "worker \(name) joined again") }
        workers[from] = info
        log("worker \(name) joined from \(info.host) (\(info.cores) cores, \(info.threads) threads, kernels \(info.kernel))")
        send(from, Message(.welcome, ["heartbeat_ms": .integer(config.heartbeatMilliseconds), "liveness": .integer(config.liveness)]))
    }

    func ready(_ from: [UInt8]) {
        guard let w = workers[from] else {
            send(from, Message(.error, ["reason": .string("unknown worker; send HELLO"), "code": .string("hello_required")]))
            return
        }
        if let job = w.job { requeue(job, reason: "worker \(w.name) asked for new work") }
        w.waitingForWork = true
        w.progress = "idle"
        dispatch(to: w, resultArrived: nil)
    }

    /// Gives an idle worker the first ready job of the oldest spec with one.
    func dispatch(to w: WorkerInfo, resultArrived: Double?) {
        guard w.waitingForWork else { return }
        for run in specs where !run.isDone && run.data != nil {
            let running = Set(assignments.keys.filter { $0.spec == run.id }.map(\.member))
            guard let job = run.state.readyJobs(running: running).first else { continue }
            let key = JobKey(spec: run.id, member: job.member)
            jobCounter += 1
            let jobID = "\(run.id)/m\(job.member)/\(jobCounter)"
            var payloads: [[UInt8]] = []
            if let from = job.warmStartFrom, let file = run.memberFiles[from],
               let bytes = FileManager.default.contents(atPath: config.stateDirectory + "/" + file) {
                payloads.append([UInt8](bytes))
            }
            let header: [String: JSONValue] = [
                "job_id": .string(jobID), "spec_id": .string(run.id),
                "job": .from(job), "dataset": .from(run.dataset!),
                "warm_start": .bool(!payloads.isEmpty),
            ]
            send(w.routingID, Message(.job, header, payloads: payloads))
            assignments[key] = Assignment(worker: w.routingID, jobID: jobID, started: Coordinator.now())
            w.job = key
            w.waitingForWork = false
            w.progress = "starting"
            if let t = w.resultArrivedAt ?? resultArrived {
                dispatchLatencies.append(Coordinator.now() - t)
                w.resultArrivedAt = nil
            }
            log("job \(jobID) -> worker \(w.name)")
            return
        }
    }

    func dispatchWaiting(resultArrived: Double? = nil) {
        for w in workers.values.sorted(by: { $0.name < $1.name }) where w.waitingForWork { dispatch(to: w, resultArrived: resultArrived) }
    }

    func requeue(_ key: JobKey, reason: String) {
        guard let a = assignments.removeValue(forKey: key) else { return }
        if let w = workers[a.worker], w.job == key { w.job = nil }
        log("job \(a.jobID) back in the queue: \(reason)")
    }

    func result(_ from: [UInt8], _ m: Message) throws {
        let arrived = Coordinator.now()
        let specID = try m.string("spec_id"), member = try m.int("member"), jobID = try m.string("job_id")
        guard let run = specs.first(where: { $0.id == specID }) else { throw Message.Invalid(description: "RESULT for unknown spec \(specID)") }
        let key = JobKey(spec: specID, member: member)
        workers[from]?.resultArrivedAt = arrived
        if let w = workers[from], w.job == key { w.job = nil }
        if assignments[key]?.worker == from || assignments[key]?.jobID == jobID { assignments[key] = nil }
        // Only a member whose dependencies are met and that is not done yet can be applied;
        // anything else is a late copy of a re-dispatched job.
        guard !run.isDone, run.state.readyJobs().contains(where: { $0.member == member }) else {
            log("dropped a duplicate result for \(specID) member \(member) (job \(jobID))")
            send(from, Message(.ack, ["job_id": .string(jobID), "duplicate": .bool(true)]))
            return
        }
        guard let tensorBytes = m.payloads.first else { throw Message.Invalid(description: "RESULT without its tensor payload") }
        // Checked without copying the data: header, byte ranges, checksum, and exactly the
        // model's tensors by name, dtype and shape.
        let file = try SafeTensors.decode(tensorBytes, path: "result of \(jobID)", materialize: false)
        guard Set(file.entries.keys) == Set(run.expectedShapes.keys) else {
            throw Message.Invalid(description: "RESULT tensors do not match the model (\(file.entries.count) given, \(run.expectedShapes.count) expected)")
        }
        for (name, e) in file.entries where e.dtype != .f32 || run.expectedShapes[name] != e.shape {
            throw Message.Invalid(description: "RESULT tensor \(name) is \(e.dtype.rawValue) \(e.shape), the model needs F32 \(run.expectedShapes[name]!)")
        }
        let history = try m.decodeField("history", as: [EpochStats].self)
        var misses: [Bool]? = nil
        if m.payloads.count > 1 { misses = m.payloads[1].map { $0 != 0 } }
        let seconds = (try? m.decodeField("seconds", as: Double.self)) ?? 0
        var state = run.state
        let outcome = state.apply(MemberResult(member: member, tensors: [:], history: history, trainingMisses: misses, seconds: seconds))
        switch outcome {
        case .duplicate:
            send(from, Message(.ack, ["job_id": .string(jobID), "duplicate": .bool(true)]))
            return
        case .accepted:
            let name = journal.memberFile(spec: specID, member: member)
            run.state = state
            run.memberFiles[member] = name
            persist(.member(id: specID, member: member, file: name, state: state), file: tensorBytes, as: name,
                    ack: (from, jobID, specID), run: run,
                    note: "member \(member) of \(specID) stored, trained by \(workers[from]?.name ?? "a worker") (\(run.state.members.count)/\(run.spec.ensemble.members))")
        case let .rejected(reason):
            run.state = state
            persist(.member(id: specID, member: member, file: nil, state: state), file: nil, as: nil, ack: (from, jobID, specID), run: run,
                    note: "member \(member) of \(specID) not kept: \(reason)")
        }
        for e in state.events.suffix(1) where e.hasPrefix("boosting") { log(e) }
        dispatchWaiting(resultArrived: arrived)
    }

    /// Queues a member's file and journal entry on the writer; the ACK goes out (and a
    /// complete spec is aggregated) once both are on disk.
    func persist(_ entry: Journal.Entry, file: [UInt8]?, as name: String?, ack: ([UInt8], String, String), run: SpecRun, note: String) {
        run.pendingWrites += 1
        let box = UnsafeSendableBox((journal, file, name.map { config.stateDirectory + "/" + $0 }, entry, durable))
        writer.async {
            let (journal, bytes, path, entry, durable) = box.value
            do {
                if let bytes, let path { try Journal.writeDurably(bytes, to: path) }
                try journal.append(entry)
                durable.post((ack.0, ack.1, ack.2, note, nil))
            } catch {
                durable.post((ack.0, ack.1, ack.2, note, "\(error)"))
            }
        }
    }

    /// Sends the ACKs of writes that became durable and aggregates specs now complete.
    func drainDurable() {
        for done in durable.take() {
            guard let run = specs.first(where: { $0.id == done.spec }) else { continue }
            run.pendingWrites -= 1
            if let error = done.error {
                run.failure = "cannot write the journal: \(error)"
                log("spec \(run.id) failed: \(run.failure!)")
                continue
            }
            log(done.note)
            send(done.peer, Message(.ack, ["job_id": .string(done.jobID), "duplicate": .bool(false)]))
            if run.pendingWrites == 0 && run.state.isComplete && !run.isDone {
                do { try finish(run) } catch { log("spec \(run.id): cannot write the artifact: \(error)") }
            }
        }
    }

    func failed(_ from: [UInt8], _ m: Message) throws {
        let specID = try m.string("spec_id"), member = try m.int("member"), reason = try m.string("error")
        let key = JobKey(spec: specID, member: member)
        guard let run = specs.first(where: { $0.id == specID }) else { return }
        workers[from]?.job = nil
        assignments[key] = nil
        run.attempts[member, default: 0] += 1
        let n = run.attempts[member]!
        if n >= config.maxAttempts {
            run.failure = "member \(member) failed \(n) times; last error from \(workers[from]?.name ?? "a worker"): \(reason)"
            try record(.failed(id: specID, reason: run.failure!))
            log("spec \(specID) failed: \(run.failure!)")
        } else {
            log("member \(member) of \(specID) failed on \(workers[from]?.name ?? "a worker") (attempt \(n) of \(config.maxAttempts)): \(reason)")
        }
        dispatchWaiting()
    }

    func bye(_ from: [UInt8], _ m: Message) {
        guard let w = workers.removeValue(forKey: from) else { return }
        if let job = w.job { requeue(job, reason: "worker \(w.name) left") }
        log("worker \(w.name) left")
        dispatchWaiting()
    }

    func fetchData(_ from: [UInt8], _ m: Message) throws {
        let hash = try m.string("sha256"), offset = try m.int("offset")
        guard let bytes = datasets.chunk(sha256: hash, offset: offset, length: Wire.chunkBytes) else {
            throw Message.Invalid(description: "no dataset file with SHA-256 \(hash.prefix(16))... at offset \(offset)")
        }
        send(from, Message(.data, ["sha256": .string(hash), "offset": .integer(offset)], payloads: [bytes]))
    }

    func fetchArtifact(_ from: [UInt8], _ m: Message) throws {
        let id = try m.string("id")
        guard let run = specs.first(where: { $0.id == id }) else { throw Message.Invalid(description: "no spec \(id)") }
        guard let path = run.finishedArtifact else {
            throw Message.Invalid(description: run.failure.map { "spec \(id) failed: \($0)" } ?? "spec \(id) is not finished (\(run.state.members.count)/\(run.spec.ensemble.members) members)")
        }
        guard let bytes = FileManager.default.contents(atPath: path) else { throw Message.Invalid(description: "the artifact of \(id) is gone from \(path)") }
        send(from, Message(.artifact, ["id": .string(id), "path": .string(path)], payloads: [[UInt8](bytes)]))
    }

    /// Aggregates a complete spec into its artifact.
    func finish(_ run: SpecRun) throws {
        guard run.finishedArtifact == nil, let data = run.data, let model = run.model else { return }
        guard !run.state.members.isEmpty else {
            run.failure = run.state.stopReason ?? "no member was kept"
            try record(.failed(id: run.id, reason: run.failure!))
            log("spec \(run.id) failed: \(run.failure!)")
            return
        }
        var tensors: [Int: [String: Tensor]] = [:]
        for m in run.state.members {
            guard let file = run.memberFiles[m.member] else { throw Message.Invalid(description: "member \(m.member) has no stored tensors") }
            tensors[m.member] = try SafeTensors.read(from: config.stateDirectory + "/" + file).tensors
        }
        let ensemble = TrainedEnsemble(state: run.state, model: model, tensors: tensors)
        let networks = try ensemble.networks()
        let best = EnsembleEvaluation.bestPrefix(networks, weights: run.state.members.map(\.alpha),
                                                 rule: run.spec.ensemble.aggregation, validation: data.validation).count
        let artifact = EnsembleArtifact(ensemble: ensemble, classNames: run.classNames, datasetHash: run.datasetHash,
                                        bestPrefix: best, environment: Coordinator.environment)
        let path = run.output ?? "\(config.stateDirectory)/artifacts/\(run.id).benn"
        try artifact.write(to: path)
        try record(.finished(id: run.id, artifact: path))
        run.finishedArtifact = path
        log("spec \(run.id) finished: artifact \(path)")
    }

    static var environment: [String: String] {
        ["benn": BennVersion.current, "blas": "\(BLAS.coreName)", "binary_kernels": BinaryKernels.active.rawValue, "cpu": CPUFeatures.current.modelName]
    }

    // MARK: Timers

    func tick() {
        let now = Coordinator.now()
        let interval = Double(config.heartbeatMilliseconds) / 1000
        if now - lastHeartbeat >= interval {
            lastHeartbeat = now
            for w in workers.values { send(w.routingID, Message(.heartbeat)) }
        }
        for (id, w) in workers where now - w.lastSeen > interval * Double(config.liveness) {
            workers[id] = nil
            if let job = w.job { requeue(job, reason: "worker \(w.name) fell silent") }
            log("worker \(w.name) dropped: silent for \(Int((now - w.lastSeen) * 1000)) ms")
            dispatchWaiting()
        }
        for (key, a) in assignments where now - a.started > config.jobTimeoutSeconds {
            requeue(key, reason: "ran past the \(Int(config.jobTimeoutSeconds)) s deadline")
            dispatchWaiting()
        }
    }

    // MARK: Status

    public func statusReport() -> [String: JSONValue] {
        let now = Coordinator.now()
        let specList: [JSONValue] = specs.map { run in
            let state = run.isDone ? (run.failure != nil ? "failed" : "finished") : (assignments.keys.contains { $0.spec == run.id } ? "running" : "queued")
            var o: [String: JSONValue] = [
                "id": .string(run.id), "model": .string(run.spec.model), "strategy": .string(run.spec.ensemble.strategy.rawValue),
                "members_done": .integer(run.state.members.count), "members": .integer(run.spec.ensemble.members), "state": .string(state),
                "running": .array(assignments.filter { $0.key.spec == run.id }.map { .integer($0.key.member) }.sorted { "\($0)" < "\($1)" }),
            ]
            if let a = run.finishedArtifact { o["artifact"] = .string(a) }
            if let f = run.failure { o["error"] = .string(f) }
            if let r = run.state.stopReason { o["stop_reason"] = .string(r) }
            return .object(o)
        }
        let workerList: [JSONValue] = workers.values.sorted { $0.name < $1.name }.map { w in
            .object(["name": .string(w.name), "host": .string(w.host), "cores": .integer(w.cores), "threads": .integer(w.threads),
                     "kernel": .string(w.kernel), "job": w.job.map { .string("\($0.spec)/m\($0.member)") } ?? .null,
                     "progress": .string(w.progress), "last_heartbeat_ms_ago": .integer(Int((now - w.lastSeen) * 1000))])
        }
        let sorted = dispatchLatencies.sorted()
        func quantile(_ q: Double) -> JSONValue {
            sorted.isEmpty ? .null : .number(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] * 1000)
        }
        return ["specs": .array(specList), "workers": .array(workerList),
                "dispatch_latency_ms": .object(["count": .integer(sorted.count), "median": quantile(0.5), "p99": quantile(0.99)])]
    }

    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) }
    }

    /// Submits a spec given at start-up unless the journal already holds the same spec
    /// with the same output (a restarted coordinator must not queue it twice).
    @discardableResult
    public func submitOnce(_ spec: TrainingSpec, output: String?) throws -> String {
        var s = spec
        if s.ensemble.strategy == .single { s.ensemble.members = 1 }
        if let existing = specs.first(where: { $0.spec == s && $0.output == output }) {
            log("spec \(existing.id) is already in the journal; not submitting it again")
            return existing.id
        }
        return try submit(spec, output: output)
    }

    func hex(_ bytes: [UInt8]) -> String { bytes.prefix(8).map { String($0, radix: 16) }.joined() }
}

/// A thread-safe FIFO between the journal writer and the event loop.
final class LockedQueue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func post(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
    func take() -> [T] { lock.lock(); defer { lock.unlock() }; let i = items; items = []; return i }
}
