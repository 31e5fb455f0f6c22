import BennCore
import BennData
import BennEnsemble
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
    /// A worker's first quarantine after two failed jobs in a row; 0: never.
    public var quarantineSeconds: Double = 10
    /// CURVE: the coordinator's secret key, and the public keys it serves: as workers and
    /// clients both (`allowedClientKeys`, `--allow`), as workers only, as clients only.
    public var curveSecretKey: String?
    public var allowedClientKeys: Set<String> = []
    public var workerOnlyKeys: Set<String> = []
    public var clientOnlyKeys: Set<String> = []

    public init(bind: String, stateDirectory: String) {
        self.bind = bind
        self.stateDirectory = stateDirectory
    }

    public var allKeys: Set<String> { allowedClientKeys.union(workerOnlyKeys).union(clientOnlyKeys) }

    var settings: CoordinatorState.Settings {
        var s = CoordinatorState.Settings()
        s.heartbeatMilliseconds = heartbeatMilliseconds
        s.liveness = liveness
        s.jobTimeoutSeconds = jobTimeoutSeconds
        s.maxAttempts = maxAttempts
        s.quarantineSeconds = quarantineSeconds
        s.stateDirectory = stateDirectory
        if curveSecretKey != nil {
            s.workerKeys = allowedClientKeys.union(workerOnlyKeys)
            s.clientKeys = allowedClientKeys.union(clientOnlyKeys)
        }
        return s
    }
}

/// The coordinator: the shell around `CoordinatorState`. One thread owns the ROUTER socket
/// and the state (the event loop) and performs the state's actions; everything slow runs
/// on other threads and reports back through `sink`: checking a result's tensors on the
/// verifier, storing member files and journal entries on the writer (group commit), loading
/// a submitted spec's data and writing finished artifacts.
public final class Coordinator {
    public let config: CoordinatorConfig
    let log: @Sendable (String) -> Void
    let logQueue: DispatchQueue
    let context: ZMQContext
    let socket: ZMQSocket
    let journal: Journal
    let writer: JournalWriter
    var authenticator: ZAPAuthenticator?
    var state: CoordinatorState
    let datasets = DatasetServer()
    /// Where the other threads report to the event loop (and wake it).
    let sink: EventSink
    let wakeReceiver: ZMQSocket
    let verifier = DispatchQueue(label: "benn.coordinator.verify")
    let preparer = DispatchQueue(label: "benn.coordinator.prepare")
    let finisher = DispatchQueue(label: "benn.coordinator.finish")
    /// Journal entries noted this loop turn, not yet handed to the writer.
    var notes: [JournalWriter.Task] = []

    public init(config: CoordinatorConfig, log: @escaping @Sendable (String) -> Void) throws {
        self.config = config
        // Log lines are written on their own thread, in order: formatting them (time
        // stamps) is not the event loop's work.
        HeapTuning.keepBuffers(upTo: Int(Wire.maxMessageBytes))
        let logQueue = DispatchQueue(label: "benn.coordinator.log")
        self.logQueue = logQueue
        self.log = { line in logQueue.async { EventLoopPriority.background(); log(line) } }
        state = CoordinatorState(settings: config.settings)
        journal = try Journal(directory: config.stateDirectory)
        writer = JournalWriter(journal: journal)
        context = try ZMQContext()
        if let secret = config.curveSecretKey {
            authenticator = try ZAPAuthenticator(context: context, allowedPublicKeys: config.allKeys) { decision in
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
        // Per peer: a peer that stops reading fills its queue and is dropped (`stalled`).
        try socket.setSendHighWaterMark(Wire.sendHighWaterMark)
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

    /// Replays the journal; unfinished specs load their data again and continue.
    func restore() throws {
        for run in state.restore(try journal.replay()) {
            var failure: String?
            do { try CoordinatorWork.prepare(run, datasets: datasets) } catch { failure = "\(error)" }
            perform(state.resumed(run, error: failure))
        }
    }

    /// Queues a spec; returns its id. Errors (bad spec, missing data) are thrown, not queued.
    /// Synchronous: for specs given at start-up; specs from clients are prepared off the loop.
    @discardableResult
    public func submit(_ spec: TrainingSpec, output: String?) throws -> String {
        let (s, id) = try state.identify(spec)
        let run = SpecRun(id: id, spec: s, output: output.map(outputPath), state: EnsembleState(spec: s, trainingCount: 0, classes: 0))
        try CoordinatorWork.prepare(run, datasets: datasets)
        try writer.sync(.spec(id: id, spec: s, output: run.output, submitted: ISO8601DateFormatter().string(from: Date())))
        var out: [CoordinatorAction] = []
        state.add(run, &out)
        perform(out)
        return id
    }

    /// A start-up `--output` path as the journal keeps it: absolute, or relative to the
    /// state directory when inside it.
    func outputPath(_ path: String) -> String {
        state.relativeToState(path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path)
    }

    /// Submits a spec given at start-up unless the journal already holds the same spec with
    /// the same output (a restarted coordinator must not queue it twice).
    @discardableResult
    public func submitOnce(_ spec: TrainingSpec, output: String?) throws -> String {
        var s = spec
        if s.ensemble.strategy == .single { s.ensemble.members = 1 }
        let target = output.map(outputPath)
        if let existing = state.specs.first(where: { $0.spec == s && $0.output == target }) {
            log("spec \(existing.id) is already in the journal; not submitting it again")
            return existing.id
        }
        return try submit(spec, output: output)
    }

    // MARK: Event loop

    /// Serves until `shouldStop` returns true (checked at least every 50 ms).
    public func run(until shouldStop: () -> Bool) {
        log("coordinator listening on \(endpoint)\(config.curveSecretKey == nil ? " (no encryption)" : " (CURVE, \(config.allKeys.count) allowed keys)")")
        EventLoopPriority.raise(log: log)
        let poller = ZMQPoller()
        poller.add(socket)
        poller.add(wakeReceiver)
        let curve = config.curveSecretKey != nil
        while !shouldStop() {
            do {
                let ready = try poller.poll(timeoutMilliseconds: 50)
                if ready[1].contains(.readable) {
                    while try wakeReceiver.receive(timeoutMilliseconds: 0) != nil {}
                }
                if ready[0].contains(.readable) {
                    // Drain what is queued before timers, so bursts are served promptly.
                    var budget = 256
                    var started = MonotonicClock.seconds()
                    while budget > 0 {
                        var userID: String?
                        let frames: [[UInt8]]?
                        if curve {
                            let incoming = try socket.receiveWithMetadata(timeoutMilliseconds: 0)
                            (frames, userID) = (incoming?.frames, incoming?.userID)
                        } else {
                            frames = try socket.receive(timeoutMilliseconds: 0)
                        }
                        guard let frames, let peer = frames.first else { break }
                        // Taking a large message off the socket copies it: timed, since it
                        // holds up everything queued behind it.
                        if frames.count > 3 && frames[3...].reduce(0, { $0 + $1.count }) >= 1 << 20 {
                            state.recordLargeReceive(MonotonicClock.seconds() - started)
                        }
                        budget -= 1
                        // The codec runs here, the handler in the state; the dispatch latency
                        // is timed from the decoded message.
                        let message: Message
                        do { message = try Message.decode(Array(frames.dropFirst())) } catch {
                            perform(state.malformed(from: peer, error))
                            started = MonotonicClock.seconds()
                            continue
                        }
                        let now = MonotonicClock.seconds()
                        perform(state.receive(message, from: peer, userID: userID, now: now))
                        started = MonotonicClock.seconds()
                    }
                }
                for completion in sink.events.take() { perform(state.complete(completion, now: MonotonicClock.seconds())) }
                perform(state.tick(now: MonotonicClock.seconds()))
                if !notes.isEmpty {
                    writer.submit(notes)
                    notes.removeAll(keepingCapacity: true)
                }
            } catch {
                log("socket error: \(error)")
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        logQueue.sync {}
    }

    /// Sends, or tells the state the peer stopped reading (its queue is full).
    func send(_ peer: [UInt8], _ frames: [[UInt8]]) {
        do {
            if try !socket.send([peer] + frames, dontWait: true) {
                perform(state.stalled(peer, now: MonotonicClock.seconds()))
            }
        } catch {
            // A peer that went away (EHOSTUNREACH with ROUTER_MANDATORY) is handled by liveness.
        }
    }

    func perform(_ actions: [CoordinatorAction]) {
        for action in actions { perform(action) }
    }

    func perform(_ action: CoordinatorAction) {
        switch action {
        case let .send(peer, message): send(peer, message.frames())
        case let .sendFrames(peer, frames): send(peer, frames)
        case let .sendJob(peer, jobID, specID, job, dataset, warmStart, resultArrived):
            let tensors = warmStart.flatMap { FileManager.default.contents(atPath: $0) }.map { [UInt8]($0) }
            send(peer, Wire.JobOffer.envelope(jobID: jobID, specID: specID, job: job, dataset: dataset, warmStart: tensors).frames())
            if let resultArrived { state.recordDispatch(MonotonicClock.seconds() - resultArrived) }
        case let .sendChunk(peer, request):
            if let bytes = datasets.chunk(sha256: request.sha256, offset: request.offset, length: Wire.chunkBytes) {
                send(peer, Wire.DataChunk(sha256: request.sha256, offset: request.offset, bytes: bytes).frames())
            } else {
                // Named by hash, so the worker can tell this refusal from others and fail its job.
                send(peer, Wire.Refusal(.invalid, "no dataset file with SHA-256 \(request.sha256.prefix(16))... at offset \(request.offset)",
                                        sha256: request.sha256).frames())
            }
        case let .sendArtifact(peer, id, path):
            if let bytes = FileManager.default.contents(atPath: path) {
                send(peer, Wire.ArtifactReply(id: id, path: path, bytes: [UInt8](bytes)).frames())
            } else {
                send(peer, Wire.Refusal(.invalid, "the artifact of \(id) is gone from \(path)").frames())
            }
        case let .sendStatus(peer):
            send(peer, Wire.StatusReply(state.status(now: MonotonicClock.seconds(), eventLoopCPU: EventLoopPriority.threadCPUSeconds())).frames())
        case let .verify(v):
            let sink = self.sink
            verifier.async { EventLoopPriority.background(); sink.post(v.run()) }
        case let .persist(task):
            let sink = self.sink
            let file = task.file.map { ($0.bytes, config.stateDirectory + "/" + $0.name) }
            writer.submit(.init(file: file, entry: task.entry) { error in sink.post(.durable(task, error: error.map { "\($0)" })) })
        case let .prepare(peer, run):
            let box = UnsafeSendableBox((run, datasets, writer))
            let sink = self.sink
            preparer.async {
                EventLoopPriority.background()
                let (run, datasets, writer) = box.value
                do {
                    try CoordinatorWork.prepare(run, datasets: datasets)
                    try writer.sync(.spec(id: run.id, spec: run.spec, output: run.output, submitted: ISO8601DateFormatter().string(from: Date())))
                    sink.post(.prepared(peer: peer, run: run))
                } catch {
                    sink.post(.prepareFailed(peer: peer, reason: "spec refused: \(error)"))
                }
            }
        case let .record(entry):
            do { try writer.sync(entry) } catch { log("cannot journal \(entry.kind): \(error)") }
        case let .note(entry):
            // Handed to the writer once per loop turn: one wake-up for a burst of dispatches.
            notes.append(.init(file: nil, entry: entry) { _ in })
        case let .writeArtifact(job):
            let writer = self.writer
            let sink = self.sink
            finisher.async {
                EventLoopPriority.background()
                do {
                    try CoordinatorWork.writeArtifact(job)
                    try writer.sync(.finished(id: job.id, artifact: job.journalPath))
                    sink.post(.finished(spec: job.id, artifact: job.path))
                } catch {
                    sink.post(.finishFailed(spec: job.id, reason: "\(error)"))
                }
            }
        case let .log(line): log(line)
        }
    }
}
