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
/// writes each finished spec's artifact.
///
/// One thread owns the ROUTER socket and the state (the event loop); it only does
/// bookkeeping. Everything slow runs on other threads and reports back through `events`:
/// checking a result's tensors (checksum, names, shapes) on the verifier, storing member
/// files and journal entries on the writer (group commit), loading a submitted spec's data
/// and writing finished artifacts. A result's member counts as running while it is being
/// checked, so the worker's READY, sent with its RESULT, is answered with the next job at
/// once; a result that fails the check sends its job back to the queue.
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
        /// Member writes queued on the writer and not yet durable.
        var pendingWrites = 0
        /// Members with a job out (running on a worker).
        var assigned: Set<Int> = []
        /// Members with results being checked (copies per member).
        var verifying: [Int: Int] = [:]
        /// The artifact is being written.
        var finishing = false
        var failure: String?
        /// The spec and dataset manifest as JSON text, encoded once for every JOB.
        var specJSON: [UInt8] = []
        var datasetJSON: [UInt8] = []
        /// The last job encoded (boosting jobs carry a weight per training sample), with
        /// the number of members it was planned after.
        var jobCache: (member: Int, planned: Int, json: [UInt8])?
        init(id: String, spec: TrainingSpec, output: String?, state: EnsembleState) {
            self.id = id
            self.spec = spec
            self.output = output
            self.state = state
        }
        var isDone: Bool { finishedArtifact != nil || failure != nil }
        /// Members that must not be dispatched again: out on a worker or being checked.
        var busy: Set<Int> { verifying.isEmpty ? assigned : assigned.union(verifying.keys) }
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
        /// In the queue of workers waiting for a job.
        var queued = false
        /// RESULTs for the job it was given that counted as asking for the next job: as
        /// many READYs (sent with those RESULTs) are redundant.
        var impliedReadies = 0
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

    /// A result whose tensors passed the checks, back on the event loop.
    struct Verified: @unchecked Sendable {
        var peer: [UInt8]
        var jobID: String
        var spec: String
        var member: Int
        var history: [EpochStats]
        var misses: [Bool]?
        var seconds: Double
        var tensorBytes: [UInt8]
    }

    /// What the other threads report to the event loop.
    enum Event: @unchecked Sendable {
        case verified(Verified)
        case refused(peer: [UInt8], jobID: String, spec: String, member: Int, reason: String)
        case durable(peer: [UInt8], jobID: String, spec: String, note: String, error: String?)
        case prepared(peer: [UInt8], run: SpecRun)
        case prepareFailed(peer: [UInt8], reason: String)
        case finished(spec: String, artifact: String)
        case finishFailed(spec: String, reason: String)
    }

    public let config: CoordinatorConfig
    let log: @Sendable (String) -> Void
    let logQueue: DispatchQueue
    let context: ZMQContext
    let socket: ZMQSocket
    let journal: Journal
    let writer: JournalWriter
    var authenticator: ZAPAuthenticator?
    var specs: [SpecRun] = []
    var specIndex: [String: SpecRun] = [:]
    var workers: [[UInt8]: WorkerInfo] = [:]
    var assignments: [JobKey: Assignment] = [:]
    /// Workers waiting for a job, oldest first (entries of workers gone or busy are skipped).
    var waiting: [[UInt8]] = []
    var waitingHead = 0
    let datasets = DatasetServer()
    /// Where the other threads report to the event loop (and wake it).
    let sink: EventSink
    let wakeReceiver: ZMQSocket
    let verifier = DispatchQueue(label: "benn.coordinator.verify")
    let preparer = DispatchQueue(label: "benn.coordinator.prepare")
    let finisher = DispatchQueue(label: "benn.coordinator.finish")
    var lastHeartbeat = 0.0
    var lastSweep = 0.0
    var jobCounter = 0
    var nextSpecNumber = 1
    let heartbeatFrames = Message(.heartbeat).frames()
    /// Seconds from a worker's result arriving (taken off the socket) to its next job
    /// leaving, per dispatch, for `benn status` and benchmarks (the latest 100,000).
    public private(set) var dispatchLatencies: [Double] = []
    /// Seconds taken to take messages with payloads of 1 MiB or more off the socket (the
    /// copy out of libzmq), before they are handled (the latest 100,000).
    public private(set) var largeReceiveTimes: [Double] = []

    func record(_ series: inout [Double], _ value: Double) {
        if series.count >= 100_000 { series.removeFirst(50_000) }
        series.append(value)
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    public init(config: CoordinatorConfig, log: @escaping @Sendable (String) -> Void) throws {
        self.config = config
        // Log lines are written on their own thread, in order: formatting them (time
        // stamps) is not the event loop's work.
        MemoryTuning.keepLargeBuffers()
        let logQueue = DispatchQueue(label: "benn.coordinator.log")
        self.logQueue = logQueue
        self.log = { line in logQueue.async { Coordinator.backgroundPriority(); log(line) } }
        journal = try Journal(directory: config.stateDirectory)
        writer = JournalWriter(journal: journal)
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
        // Other threads wake the event loop through an in-process socket pair.
        let address = "inproc://benn-coordinator-wake-\(UInt64.random(in: 0...UInt64.max))"
        wakeReceiver = try ZMQSocket(context: context, type: .pair)
        try wakeReceiver.setLinger(milliseconds: 0)
        try wakeReceiver.bind(address)
        let sender = try ZMQSocket(context: context, type: .pair)
        try sender.setLinger(milliseconds: 0)
        try sender.connect(address)
        sink = EventSink(waker: Waker(sender))
        try restore()
    }

    deinit {
        writer.stop()
        logQueue.sync {}
        sink.waker.close()
        wakeReceiver.close()
        socket.close()
        authenticator?.stop()
        context.shutdown()
    }

    /// The endpoint actually bound (with the real port when bound to port 0 / `*`).
    public var endpoint: String { (try? socket.lastEndpoint()) ?? config.bind }

    // MARK: Specs

    /// Replays the journal: specs, applied members (deltas, or whole states from older
    /// journals), finished artifacts.
    func restore() throws {
        var deltas: [String: [(member: Int, trainingCount: Int, classes: Int, history: [EpochStats], seconds: Double, misses: String?)]] = [:]
        var bases: [String: EnsembleState] = [:]
        for entry in try journal.replay() {
            switch entry {
            case let .spec(id, spec, output, _):
                let run = SpecRun(id: id, spec: spec, output: output, state: EnsembleState(spec: spec, trainingCount: 0, classes: 0))
                specs.append(run)
                specIndex[id] = run
                if let n = Int(id.dropFirst().prefix { $0.isNumber }) { nextSpecNumber = max(nextSpecNumber, n + 1) }
            case let .member(id, member, file, state):
                guard let run = specIndex[id] else { continue }
                bases[id] = state
                deltas[id] = []
                if let file { run.memberFiles[member] = file }
            case let .result(id, member, file, trainingCount, classes, history, seconds, misses):
                guard let run = specIndex[id] else { continue }
                deltas[id, default: []].append((member, trainingCount, classes, history, seconds, misses))
                if let file { run.memberFiles[member] = file }
            case let .finished(id, artifact):
                specIndex[id]?.finishedArtifact = artifact
            case let .failed(id, reason):
                specIndex[id]?.failure = reason
            }
        }
        for run in specs {
            let list = deltas[run.id] ?? []
            guard var state = bases[run.id] ?? list.first.map({ EnsembleState(spec: run.spec, trainingCount: $0.trainingCount, classes: $0.classes) }) else { continue }
            for d in list {
                let misses = d.misses.flatMap { Journal.unpackMisses($0, count: d.trainingCount) }
                _ = state.apply(MemberResult(member: d.member, tensors: [:], history: d.history, trainingMisses: misses, seconds: d.seconds))
            }
            run.state = state
        }
        jobCounter = specs.count * 1000
        for run in specs where !run.isDone {
            do {
                try prepare(run)
                log("resumed spec \(run.id): \(run.state.members.count) of \(run.spec.ensemble.members) members already done")
                if run.state.isComplete { try finishNow(run) }
            } catch {
                run.failure = "cannot resume: \(error)"
                try? record(.failed(id: run.id, reason: run.failure!))
                log("spec \(run.id) failed: \(run.failure!)")
            }
        }
    }

    /// Appends a journal entry after every queued write and waits until it is durable.
    func record(_ entry: Journal.Entry) throws {
        try writer.sync(entry)
    }

    /// Loads a spec's data, registers its files for workers and sets up its state. Touches
    /// only `run` and the thread-safe dataset server, so it may run off the event loop.
    func prepare(_ run: SpecRun) throws {
        try Coordinator.prepare(run, datasets: datasets)
    }

    static func prepare(_ run: SpecRun, datasets: DatasetServer) throws {
        // Decompressing the images and hashing the files for workers are independent: done
        // side by side (workers wait for this before their first job).
        let directory = run.spec.data.directory
        let loaded = ResultSlots<(LabeledImages?, DatasetManifest?)>(count: 3)
        DispatchQueue.concurrentPerform(iterations: 3) { part in
            loaded.set(part) {
                switch part {
                case 0: return (try FashionMNIST.load(directory: directory, split: .train), nil)
                case 1: return (try FashionMNIST.load(directory: directory, split: .test), nil)
                default: return (nil, try datasets.register(directory: directory))
                }
            }
        }
        let parts = try loaded.values()
        let trainImages = parts[0].0!, testImages = parts[1].0!
        let data = try EnsembleData.make(spec: run.spec, trainImages: trainImages, testImages: testImages)
        run.data = data
        run.dataset = parts[2].1!
        run.model = try run.spec.modelDescription(inputShape: trainImages.imageShape,
                                             classes: trainImages.classCount)
        run.classNames = trainImages.classNames
        run.expectedShapes = Dictionary(uniqueKeysWithValues: try Sequential(run.model!, seed: 0).namedTensors.map { ($0.name, $0.tensor.shape) })
        run.datasetHash = trainImages.contentHash
        run.specJSON = JSONValue.from(run.spec).encoded()
        run.datasetJSON = JSONValue.from(run.dataset!).encoded()
        if run.state.trainingCount == 0 {
            run.state = EnsembleState(spec: run.spec, trainingCount: data.training.count, classes: trainImages.classCount)
        } else if run.state.trainingCount != data.training.count || run.state.classes != trainImages.classCount {
            throw Message.Invalid(description: "the data in \(run.spec.data.directory) changed since the journal was written (\(data.training.count) training samples and \(trainImages.classCount) classes, the journal has \(run.state.trainingCount) and \(run.state.classes))")
        }
    }

    /// A validated spec's normal form and id (from its content).
    func identify(_ spec: TrainingSpec) throws -> (TrainingSpec, String) {
        try spec.validate()
        var s = spec
        if s.ensemble.strategy == .single { s.ensemble.members = 1 }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let digest = SHA256.hexDigest(Array(try encoder.encode(s)))
        let id = "s\(nextSpecNumber)-\(digest.prefix(8))"
        nextSpecNumber += 1
        return (s, id)
    }

    /// Queues a spec; returns its id. Errors (bad spec, missing data) are thrown, not queued.
    /// Synchronous: for specs given at start-up; specs from clients are prepared off the loop.
    @discardableResult
    public func submit(_ spec: TrainingSpec, output: String?) throws -> String {
        let (s, id) = try identify(spec)
        let run = SpecRun(id: id, spec: s, output: output, state: EnsembleState(spec: s, trainingCount: 0, classes: 0))
        try prepare(run)
        try record(.spec(id: id, spec: s, output: output, submitted: ISO8601DateFormatter().string(from: Date())))
        add(run)
        return id
    }

    func add(_ run: SpecRun) {
        specs.append(run)
        specIndex[run.id] = run
        log("accepted spec \(run.id): \(run.spec.ensemble.strategy.rawValue) of \(run.spec.ensemble.members) \(run.spec.model) members, \(run.spec.train.epochs) epochs each")
    }

    /// A client's SUBMIT: the data is loaded and hashed and the spec journaled on the
    /// preparer thread; ACCEPTED (or ERROR) is sent when that is done.
    func submitFromClient(_ from: [UInt8], _ spec: TrainingSpec, output: String?) throws {
        let (s, id) = try identify(spec)
        let run = SpecRun(id: id, spec: s, output: output, state: EnsembleState(spec: s, trainingCount: 0, classes: 0))
        let box = UnsafeSendableBox((run, datasets, writer))
        let sink = self.sink
        preparer.async {
            Coordinator.backgroundPriority()
            let (run, datasets, writer) = box.value
            do {
                try Coordinator.prepare(run, datasets: datasets)
                try writer.sync(.spec(id: run.id, spec: run.spec, output: run.output, submitted: ISO8601DateFormatter().string(from: Date())))
                sink.post(.prepared(peer: from, run: run))
            } catch {
                sink.post(.prepareFailed(peer: from, reason: "spec refused: \(error)"))
            }
        }
    }

    // MARK: Event loop

    /// Serves until `shouldStop` returns true (checked at least every 50 ms).
    public func run(until shouldStop: () -> Bool) {
        log("coordinator listening on \(endpoint)\(config.curveSecretKey == nil ? " (no encryption)" : " (CURVE, \(config.allowedClientKeys.count) allowed keys)")")
        Coordinator.raiseLoopPriority(log: log)
        let poller = ZMQPoller()
        poller.add(socket)
        poller.add(wakeReceiver)
        while !shouldStop() {
            do {
                let ready = try poller.poll(timeoutMilliseconds: 50)
                if ready[1].contains(.readable) {
                    while try wakeReceiver.receive(timeoutMilliseconds: 0) != nil {}
                }
                if ready[0].contains(.readable) {
                    // Drain what is queued before timers, so bursts are served promptly.
                    var budget = 256
                    var started = Coordinator.now()
                    while budget > 0, let frames = try socket.receive(timeoutMilliseconds: 0) {
                        // Taking a large message off the socket copies it: timed, since it
                        // holds up everything queued behind it.
                        if frames.count > 3 && frames[3...].reduce(0, { $0 + $1.count }) >= 1 << 20 {
                            record(&largeReceiveTimes, Coordinator.now() - started)
                        }
                        handle(frames)
                        budget -= 1
                        started = Coordinator.now()
                    }
                }
                drainEvents()
                tick()
            } catch {
                log("socket error: \(error)")
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        logQueue.sync {}
    }

    /// The event loop needs about 0.1 ms of CPU per result, but on a machine whose cores
    /// are kept busy (workers training beside the coordinator) a woken thread waits up to a
    /// scheduler slice, several milliseconds, before it runs. So the loop thread asks for
    /// nice -5 where the process may raise its priority (root or CAP_SYS_NICE) and keeps
    /// the normal priority otherwise. Threads it starts (the dispatch pool of the verifier,
    /// preparer, finisher and log queues) go back to nice 0 (`backgroundPriority()`).
    static func raiseLoopPriority(log: @Sendable (String) -> Void) {
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -5) == 0 {
            loopPriorityRaised = true
            log("event loop thread at nice -5")
        }
    }

    nonisolated(unsafe) static var loopPriorityRaised = false

    /// Puts the calling background thread back to nice 0 if the loop raised its own.
    static func backgroundPriority() {
        if loopPriorityRaised { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 0) }
    }

    func send(_ to: [UInt8], _ message: Message) {
        send(to, frames: message.frames())
    }

    func send(_ to: [UInt8], frames: [[UInt8]]) {
        do {
            _ = try socket.send([to] + frames, dontWait: true)
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
                    try submitFromClient(from, spec, output: output)
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
        if w.impliedReadies > 0 {
            // The READY sent with a RESULT that already got the next job (or a place in
            // the queue): nothing to do.
            w.impliedReadies -= 1
            if w.job != nil || w.waitingForWork { return }
        }
        if let job = w.job { requeue(job, reason: "worker \(w.name) asked for new work") }
        w.waitingForWork = true
        w.progress = "idle"
        if !dispatch(to: w), !w.queued {
            w.queued = true
            waiting.append(w.routingID)
        }
    }

    // MARK: Jobs

    func assign(_ key: JobKey, to w: WorkerInfo, jobID: String) {
        assignments[key] = Assignment(worker: w.routingID, jobID: jobID, started: Coordinator.now())
        specIndex[key.spec]?.assigned.insert(key.member)
        w.job = key
    }

    @discardableResult
    func unassign(_ key: JobKey) -> Assignment? {
        guard let a = assignments.removeValue(forKey: key) else { return nil }
        specIndex[key.spec]?.assigned.remove(key.member)
        if let w = workers[a.worker], w.job == key { w.job = nil }
        return a
    }

    /// Gives an idle worker the first ready job of the oldest spec with one; false if
    /// there is none.
    @discardableResult
    func dispatch(to w: WorkerInfo) -> Bool {
        guard w.waitingForWork else { return false }
        for run in specs where !run.isDone && !run.finishing && run.data != nil {
            let busy = run.busy
            if run.state.members.count + busy.count >= run.spec.ensemble.members { continue }
            guard let job = run.state.readyJobs(running: busy).first else { continue }
            let key = JobKey(spec: run.id, member: job.member)
            jobCounter += 1
            let jobID = "\(run.id)/m\(job.member)/\(jobCounter)"
            var payloads: [[UInt8]] = []
            if let from = job.warmStartFrom, let file = run.memberFiles[from],
               let bytes = FileManager.default.contents(atPath: config.stateDirectory + "/" + file) {
                payloads.append([UInt8](bytes))
            }
            let jobJSON: [UInt8]
            if let c = run.jobCache, c.member == job.member, c.planned == run.state.members.count, run.state.stopReason == nil {
                jobJSON = c.json
            } else {
                jobJSON = Coordinator.json(job, spec: run.specJSON)
                run.jobCache = (job.member, run.state.members.count, jobJSON)
            }
            send(w.routingID, Message(.job, encodedFields: [
                ("job_id", JSONValue.string(jobID).encoded()), ("spec_id", JSONValue.string(run.id).encoded()),
                ("job", jobJSON), ("dataset", run.datasetJSON), ("warm_start", JSONValue.bool(!payloads.isEmpty).encoded()),
            ], payloads: payloads))
            assign(key, to: w, jobID: jobID)
            w.waitingForWork = false
            w.progress = "starting"
            if let t = w.resultArrivedAt {
                record(&dispatchLatencies, Coordinator.now() - t)
                w.resultArrivedAt = nil
            }
            log("job \(jobID) -> worker \(w.name)")
            return true
        }
        return false
    }

    /// Dispatches ready jobs to waiting workers, longest waiting first.
    func dispatchWaiting() {
        while waitingHead < waiting.count {
            let id = waiting[waitingHead]
            guard let w = workers[id], w.waitingForWork else {
                workers[id]?.queued = false
                waitingHead += 1
                continue
            }
            guard dispatch(to: w) else { break }  // nothing ready for anyone
            w.queued = false
            waitingHead += 1
        }
        if waitingHead > 1024 && waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }

    /// A member job as the JSON text of `MemberJob`, written directly: the spec is encoded
    /// once per spec, and boosting weights (one per training sample) go straight to text.
    static func json(_ job: MemberJob, spec: [UInt8]) -> [UInt8] {
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

    /// Whether a result for `member` can be applied now: `readyJobs()` without building
    /// the jobs (boosting jobs copy a weight per training sample).
    static func isReady(_ state: EnsembleState, member: Int) -> Bool {
        guard !state.isComplete, member >= 0, member < state.target else { return false }
        let done = state.finished
        if done.contains(member) { return false }
        guard state.spec.ensemble.strategy == .boosting || state.spec.ensemble.start == .sequential else { return true }
        // Each member depends on the previous one: only the first unfinished one is ready.
        return (0..<member).allSatisfy { done.contains($0) }
    }

    func requeue(_ key: JobKey, reason: String) {
        guard let a = unassign(key) else { return }
        log("job \(a.jobID) back in the queue: \(reason)")
    }

    // MARK: Results

    /// A RESULT: cheap checks here; the tensors are checked on the verifier thread while
    /// the member counts as running. The RESULT of the job a worker was given also asks
    /// for its next job, which leaves at once.
    func result(_ from: [UInt8], _ m: Message) throws {
        let arrived = Coordinator.now()
        let specID = try m.string("spec_id"), member = try m.int("member"), jobID = try m.string("job_id")
        guard let run = specIndex[specID] else { throw Message.Invalid(description: "RESULT for unknown spec \(specID)") }
        let key = JobKey(spec: specID, member: member)
        var nextJobFor: WorkerInfo?
        if let w = workers[from] {
            w.resultArrivedAt = arrived
            if w.job == key, assignments[key]?.jobID == jobID {
                // The worker is done with its job and, per the protocol, ready for the next.
                nextJobFor = w
            }
        }
        if let w = workers[from], w.job == key { w.job = nil }
        if assignments[key]?.worker == from || assignments[key]?.jobID == jobID { unassign(key) }
        // The next job leaves before the check starts (a thread woken for it could take the
        // CPU from the event loop for a few milliseconds).
        var verification: (@Sendable () -> Void)?
        defer {
            if let w = nextJobFor {
                w.impliedReadies += 1
                w.waitingForWork = true
                w.progress = "idle"
                if !dispatch(to: w), !w.queued {
                    w.queued = true
                    waiting.append(w.routingID)
                }
            }
            if let verification { verifier.async { Coordinator.backgroundPriority(); verification() } }
        }
        // Only a member whose dependencies are met and that is not done yet can be applied;
        // anything else is a late copy of a re-dispatched job.
        guard !run.isDone, Coordinator.isReady(run.state, member: member) else {
            log("dropped a duplicate result for \(specID) member \(member) (job \(jobID))")
            send(from, Message(.ack, ["job_id": .string(jobID), "duplicate": .bool(true)]))
            return
        }
        guard m.payloads.first != nil else { throw Message.Invalid(description: "RESULT without its tensor payload") }
        run.verifying[member, default: 0] += 1
        let expected = run.expectedShapes
        let sink = self.sink
        verification = {
            do {
                let v = try Coordinator.verify(m, peer: from, jobID: jobID, spec: specID, member: member, expectedShapes: expected)
                sink.post(.verified(v))
            } catch {
                sink.post(.refused(peer: from, jobID: jobID, spec: specID, member: member, reason: "\(error)"))
            }
        }
    }

    /// Checks a result without copying its data: header, byte ranges, checksum, and exactly
    /// the model's tensors by name, dtype and shape; decodes its history and misses.
    static func verify(_ m: Message, peer: [UInt8], jobID: String, spec: String, member: Int,
                       expectedShapes: [String: [Int]]) throws -> Verified {
        let tensorBytes = m.payloads[0]
        let file = try SafeTensors.decode(tensorBytes, path: "result of \(jobID)", materialize: false)
        guard Set(file.entries.keys) == Set(expectedShapes.keys) else {
            throw Message.Invalid(description: "RESULT tensors do not match the model (\(file.entries.count) given, \(expectedShapes.count) expected)")
        }
        for (name, e) in file.entries where e.dtype != .f32 || expectedShapes[name] != e.shape {
            throw Message.Invalid(description: "RESULT tensor \(name) is \(e.dtype.rawValue) \(e.shape), the model needs F32 \(expectedShapes[name]!)")
        }
        let history = try m.decodeField("history", as: [EpochStats].self)
        var misses: [Bool]? = nil
        if m.payloads.count > 1 { misses = m.payloads[1].map { $0 != 0 } }
        let seconds = m.header["seconds"].flatMap { v -> Double? in
            switch v {
            case let .number(d): return d
            case let .int(i): return Double(i)
            case let .uint(u): return Double(u)
            default: return nil
            }
        } ?? 0
        return Verified(peer: peer, jobID: jobID, spec: spec, member: member, history: history, misses: misses,
                        seconds: seconds, tensorBytes: tensorBytes)
    }

    func doneVerifying(_ run: SpecRun, _ member: Int) {
        if let n = run.verifying[member] { run.verifying[member] = n > 1 ? n - 1 : nil }
    }

    /// A checked result: applied exactly once, then stored; the ACK follows when durable.
    func apply(_ v: Verified) {
        guard let run = specIndex[v.spec] else { return }
        doneVerifying(run, v.member)
        guard !run.isDone, Coordinator.isReady(run.state, member: v.member) else {
            log("dropped a duplicate result for \(v.spec) member \(v.member) (job \(v.jobID))")
            send(v.peer, Message(.ack, ["job_id": .string(v.jobID), "duplicate": .bool(true)]))
            dispatchWaiting()
            return
        }
        var state = run.state
        let outcome = state.apply(MemberResult(member: v.member, tensors: [:], history: v.history, trainingMisses: v.misses, seconds: v.seconds))
        let misses = v.misses.map(Journal.packMisses)
        let trainer = workers[v.peer]?.name ?? "a worker"
        switch outcome {
        case .duplicate:
            send(v.peer, Message(.ack, ["job_id": .string(v.jobID), "duplicate": .bool(true)]))
        case .accepted:
            let name = journal.memberFile(spec: v.spec, member: v.member)
            run.state = state
            run.memberFiles[v.member] = name
            persist(.result(id: v.spec, member: v.member, file: name, trainingCount: state.trainingCount, classes: state.classes,
                            history: v.history, seconds: v.seconds, misses: misses),
                    file: v.tensorBytes, as: name, ack: (v.peer, v.jobID, v.spec), run: run,
                    note: "member \(v.member) of \(v.spec) stored, trained by \(trainer) (\(run.state.members.count)/\(run.spec.ensemble.members))")
        case let .rejected(reason):
            run.state = state
            persist(.result(id: v.spec, member: v.member, file: nil, trainingCount: state.trainingCount, classes: state.classes,
                            history: v.history, seconds: v.seconds, misses: misses),
                    file: nil, as: nil, ack: (v.peer, v.jobID, v.spec), run: run,
                    note: "member \(v.member) of \(v.spec) not kept: \(reason)")
        }
        for e in state.events.suffix(1) where e.hasPrefix("boosting") { log(e) }
        dispatchWaiting()
    }

    /// A result that failed the checks: its job goes back to the queue (counted as a failed
    /// attempt) and the worker is told why.
    func refuse(peer: [UInt8], jobID: String, spec: String, member: Int, reason: String) {
        guard let run = specIndex[spec] else { return }
        doneVerifying(run, member)
        log("refused RESULT of job \(jobID) from \(workers[peer]?.name ?? hex(peer)): \(reason)")
        send(peer, Message(.error, ["reason": .string(reason), "code": .string("invalid")]))
        if !run.isDone && !run.state.finished.contains(member) {
            log("job \(jobID) back in the queue: its result failed verification")
            countFailure(run, member: member, reason: reason, worker: workers[peer]?.name)
        }
        dispatchWaiting()
    }

    /// Queues a member's file and journal entry on the writer; the ACK goes out (and a
    /// complete spec is aggregated) once both are on disk.
    func persist(_ entry: Journal.Entry, file: [UInt8]?, as name: String?, ack: ([UInt8], String, String), run: SpecRun, note: String) {
        run.pendingWrites += 1
        let path = name.map { config.stateDirectory + "/" + $0 }
        let target: ([UInt8], String)? = file.flatMap { bytes in path.map { (bytes, $0) } }
        let (peer, jobID, spec) = ack
        let sink = self.sink
        writer.submit(.init(file: target, entry: entry) { error in
            sink.post(.durable(peer: peer, jobID: jobID, spec: spec, note: note, error: error.map { "\($0)" }))
        })
    }

    /// Handles what the other threads reported.
    func drainEvents() {
        for event in sink.events.take() {
            switch event {
            case let .verified(v): apply(v)
            case let .refused(peer, jobID, spec, member, reason): refuse(peer: peer, jobID: jobID, spec: spec, member: member, reason: reason)
            case let .durable(peer, jobID, spec, note, error): durable(peer: peer, jobID: jobID, spec: spec, note: note, error: error)
            case let .prepared(peer, run):
                add(run)
                send(peer, Message(.accepted, ["id": .string(run.id)]))
                dispatchWaiting()
            case let .prepareFailed(peer, reason):
                send(peer, Message(.error, ["reason": .string(reason), "code": .string("bad_spec")]))
            case let .finished(spec, artifact):
                guard let run = specIndex[spec] else { continue }
                run.finishing = false
                run.finishedArtifact = artifact
                log("spec \(run.id) finished: artifact \(artifact)")
            case let .finishFailed(spec, reason):
                guard let run = specIndex[spec] else { continue }
                run.finishing = false
                log("spec \(run.id): cannot write the artifact: \(reason)")
            }
        }
    }

    /// Sends the ACK of a write that became durable; starts the artifact of a complete spec.
    func durable(peer: [UInt8], jobID: String, spec: String, note: String, error: String?) {
        guard let run = specIndex[spec] else { return }
        run.pendingWrites -= 1
        if let error {
            if run.failure == nil {
                run.failure = "cannot write the journal: \(error)"
                log("spec \(run.id) failed: \(run.failure!)")
            }
            return
        }
        log(note)
        send(peer, Message(.ack, ["job_id": .string(jobID), "duplicate": .bool(false)]))
        if run.pendingWrites == 0 && run.state.isComplete && !run.isDone && !run.finishing { finishInBackground(run) }
    }

    func countFailure(_ run: SpecRun, member: Int, reason: String, worker: String?) {
        run.attempts[member, default: 0] += 1
        let n = run.attempts[member]!
        if n >= config.maxAttempts {
            run.failure = "member \(member) failed \(n) times; last error from \(worker ?? "a worker"): \(reason)"
            do { try record(.failed(id: run.id, reason: run.failure!)) } catch { log("cannot journal the failure of \(run.id): \(error)") }
            log("spec \(run.id) failed: \(run.failure!)")
        } else {
            log("member \(member) of \(run.id) failed on \(worker ?? "a worker") (attempt \(n) of \(config.maxAttempts)): \(reason)")
        }
    }

    func failed(_ from: [UInt8], _ m: Message) throws {
        let specID = try m.string("spec_id"), member = try m.int("member"), reason = try m.string("error")
        let key = JobKey(spec: specID, member: member)
        guard let run = specIndex[specID] else { return }
        // Only this worker's copy of the job: a stale FAILED must not unassign the member
        // from the worker it was given to since.
        let jobID = m.optionalString("job_id")
        guard let a = assignments[key], a.worker == from, jobID == nil || a.jobID == jobID else {
            log("ignored a FAILED for \(specID) member \(member) that is not assigned to \(workers[from]?.name ?? "that worker")")
            return
        }
        if case .bool(true)? = m.header["busy"] {
            // The worker is still on a job it was given before this coordinator (re)started:
            // nothing went wrong with this one, so it goes back to the queue uncounted.
            requeue(key, reason: "worker \(workers[from]?.name ?? "?") is busy with an earlier job")
        } else {
            unassign(key)
            countFailure(run, member: member, reason: reason, worker: workers[from]?.name)
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
            // Named by hash, so the worker can tell this refusal from others and fail its job.
            send(from, Message(.error, ["reason": .string("no dataset file with SHA-256 \(hash.prefix(16))... at offset \(offset)"),
                                        "code": .string("invalid"), "sha256": .string(hash)]))
            return
        }
        send(from, Message(.data, ["sha256": .string(hash), "offset": .integer(offset)], payloads: [bytes]))
    }

    func fetchArtifact(_ from: [UInt8], _ m: Message) throws {
        let id = try m.string("id")
        guard let run = specIndex[id] else { throw Message.Invalid(description: "no spec \(id)") }
        guard let path = run.finishedArtifact else {
            throw Message.Invalid(description: run.failure.map { "spec \(id) failed: \($0)" } ?? "spec \(id) is not finished (\(run.state.members.count)/\(run.spec.ensemble.members) members)")
        }
        guard let bytes = FileManager.default.contents(atPath: path) else { throw Message.Invalid(description: "the artifact of \(id) is gone from \(path)") }
        send(from, Message(.artifact, ["id": .string(id), "path": .string(path)], payloads: [[UInt8](bytes)]))
    }

    // MARK: Artifacts

    /// What aggregating a spec needs, copied off the event loop's objects.
    struct ArtifactJob: @unchecked Sendable {
        var id: String
        var state: EnsembleState
        var data: EnsembleData
        var model: ModelDescription
        var memberFiles: [Int: String]
        var classNames: [String]
        var datasetHash: String
        var path: String
        var stateDirectory: String
    }

    func artifactJob(_ run: SpecRun) -> ArtifactJob? {
        guard let data = run.data, let model = run.model else { return nil }
        return ArtifactJob(id: run.id, state: run.state, data: data, model: model, memberFiles: run.memberFiles,
                           classNames: run.classNames, datasetHash: run.datasetHash,
                           path: run.output ?? "\(config.stateDirectory)/artifacts/\(run.id).benn", stateDirectory: config.stateDirectory)
    }

    /// Aggregates a complete spec's members into its artifact file.
    static func writeArtifact(_ job: ArtifactJob) throws {
        // Reading and checking the member files (checksum, copies) is most of the time:
        // side by side.
        let members = job.state.members.map(\.member)
        let read = ResultSlots<[String: Tensor]>(count: members.count)
        DispatchQueue.concurrentPerform(iterations: members.count) { i in
            read.set(i) {
                guard let file = job.memberFiles[members[i]] else { throw Message.Invalid(description: "member \(members[i]) has no stored tensors") }
                return try SafeTensors.read(from: job.stateDirectory + "/" + file).tensors
            }
        }
        let tensors = Dictionary(uniqueKeysWithValues: zip(members, try read.values()))
        let ensemble = TrainedEnsemble(state: job.state, model: job.model, tensors: tensors)
        let networks = try ensemble.networks()
        let best = EnsembleEvaluation.bestPrefix(networks, weights: job.state.members.map(\.alpha),
                                                 rule: job.state.spec.ensemble.aggregation, validation: job.data.validation).count
        let artifact = EnsembleArtifact(ensemble: ensemble, classNames: job.classNames, datasetHash: job.datasetHash,
                                        bestPrefix: best, environment: Coordinator.environment)
        try artifact.write(to: job.path)
    }

    /// A spec with no member kept fails; true if so.
    func failIfEmpty(_ run: SpecRun) throws -> Bool {
        guard run.state.members.isEmpty else { return false }
        run.failure = run.state.stopReason ?? "no member was kept"
        try record(.failed(id: run.id, reason: run.failure!))
        log("spec \(run.id) failed: \(run.failure!)")
        return true
    }

    /// Aggregates a complete spec now (at start-up, before serving).
    func finishNow(_ run: SpecRun) throws {
        guard run.finishedArtifact == nil else { return }
        if try failIfEmpty(run) { return }
        guard let job = artifactJob(run) else { return }
        try Coordinator.writeArtifact(job)
        try record(.finished(id: run.id, artifact: job.path))
        run.finishedArtifact = job.path
        log("spec \(run.id) finished: artifact \(job.path)")
    }

    /// Aggregates a complete spec on the finisher thread (reading members, evaluating the
    /// best prefix and writing the artifact take seconds for large models).
    func finishInBackground(_ run: SpecRun) {
        do { if try failIfEmpty(run) { return } } catch { log("spec \(run.id): \(error)"); return }
        guard run.finishedArtifact == nil, let job = artifactJob(run) else { return }
        run.finishing = true
        let writer = self.writer
        let sink = self.sink
        finisher.async {
            Coordinator.backgroundPriority()
            do {
                try Coordinator.writeArtifact(job)
                try writer.sync(.finished(id: job.id, artifact: job.path))
                sink.post(.finished(spec: job.id, artifact: job.path))
            } catch {
                sink.post(.finishFailed(spec: job.id, reason: "\(error)"))
            }
        }
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
            for w in workers.values { send(w.routingID, frames: heartbeatFrames) }
        }
        // Liveness and deadlines: at most every 20 ms (a pass looks at every worker and job).
        guard now - lastSweep >= 0.02 else { return }
        lastSweep = now
        var changed = false
        for (id, w) in workers where now - w.lastSeen > interval * Double(config.liveness) {
            workers[id] = nil
            if let job = w.job { requeue(job, reason: "worker \(w.name) fell silent") }
            log("worker \(w.name) dropped: silent for \(Int((now - w.lastSeen) * 1000)) ms")
            changed = true
        }
        for (key, a) in assignments where now - a.started > config.jobTimeoutSeconds {
            requeue(key, reason: "ran past the \(Int(config.jobTimeoutSeconds)) s deadline")
            changed = true
        }
        if changed { dispatchWaiting() }
    }

    // MARK: Status

    public func statusReport() -> [String: JSONValue] {
        let now = Coordinator.now()
        let specList: [JSONValue] = specs.map { run in
            let state = run.isDone ? (run.failure != nil ? "failed" : "finished")
                : (!run.assigned.isEmpty || !run.verifying.isEmpty || run.finishing || run.pendingWrites > 0 ? "running" : "queued")
            var o: [String: JSONValue] = [
                "id": .string(run.id), "model": .string(run.spec.model), "strategy": .string(run.spec.ensemble.strategy.rawValue),
                "members_done": .integer(run.state.members.count), "members": .integer(run.spec.ensemble.members), "state": .string(state),
                "running": .array(run.assigned.sorted().map { .integer($0) }),
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
        func summary(_ values: [Double]) -> JSONValue {
            let sorted = values.sorted()
            func quantile(_ q: Double) -> JSONValue {
                sorted.isEmpty ? .null : .number(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] * 1000)
            }
            return .object(["count": .integer(sorted.count), "median": quantile(0.5), "p99": quantile(0.99)])
        }
        // Status is answered on the event loop thread: its own CPU time so far.
        var cpu = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu)
        return ["specs": .array(specList), "workers": .array(workerList),
                "dispatch_latency_ms": summary(dispatchLatencies), "large_receive_ms": summary(largeReceiveTimes),
                "event_loop_cpu_s": .number(Double(cpu.tv_sec) + Double(cpu.tv_nsec) / 1e9)]
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

/// A thread-safe FIFO between the other threads and the event loop.
final class LockedQueue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func post(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
    func take() -> [T] { lock.lock(); defer { lock.unlock() }; let i = items; items = []; return i }
}

/// The event loop's inbox for the other threads.
final class EventSink: @unchecked Sendable {
    let events = LockedQueue<Coordinator.Event>()
    let waker: Waker
    init(waker: Waker) { self.waker = waker }
    func post(_ event: Coordinator.Event) {
        events.post(event)
        waker.wake()
    }
}

/// Wakes the event loop from other threads: one empty message on an in-process PAIR
/// socket (the lock keeps the socket to one thread at a time). Wake-ups beyond the
/// high-water mark are dropped; the loop drains all events on any wake-up.
final class Waker: @unchecked Sendable {
    private let lock = NSLock()
    private var socket: ZMQSocket?
    init(_ socket: ZMQSocket) { self.socket = socket }
    func wake() {
        lock.lock()
        defer { lock.unlock() }
        _ = try? socket?.send([[]], dontWait: true)
    }
    func close() {
        lock.lock()
        socket?.close()
        socket = nil
        lock.unlock()
    }
}

/// Results of work run side by side (`concurrentPerform`), one slot per part; the first
/// error is rethrown by `values()`.
final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, any Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ body: () throws -> T) {
        let r = Result { try body() }
        lock.lock()
        slots[i] = r
        lock.unlock()
    }
    func values() throws -> [T] {
        lock.lock()
        defer { lock.unlock() }
        return try slots.map { try $0!.get() }
    }
}
