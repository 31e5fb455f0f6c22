import BennBLAS
import BennCore
import BennData
import BennEnsemble
import BennKernels
import BennTensor
import BennTrain
import BennTransport
import Dispatch
import Foundation

/// Settings of a worker.
public struct WorkerConfig: Sendable {
    public var endpoint: String
    public var name: String
    public var threads: Int
    public var cacheDirectory: String
    public var heartbeatMilliseconds: Int = 1000
    public var liveness: Int = 5
    /// CURVE: this worker's secret key and the coordinator's public key.
    public var curveSecretKey: String?
    public var serverPublicKey: String?

    public init(endpoint: String, name: String, threads: Int, cacheDirectory: String) {
        self.endpoint = endpoint
        self.name = name
        self.threads = threads
        self.cacheDirectory = cacheDirectory
    }
}

/// A worker: joins a coordinator, asks for work, fetches datasets by hash, trains member
/// jobs on a training thread while the socket thread keeps heartbeats and progress going,
/// and returns results until it is stopped. Reconnects with backoff when the coordinator
/// goes silent.
public final class Worker {
    public let config: WorkerConfig
    let log: @Sendable (String) -> Void
    let context: ZMQContext
    var socket: ZMQSocket?
    let cache: DatasetCache
    /// Messages from the training thread to the socket thread.
    let outbox = LockedQueue<Message>()
    /// Kept for the process's lifetime and sent in every HELLO: after a reconnect (or a
    /// coordinator restart) it shows that this is the worker its job attempts went to.
    let workerID = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()

    enum Phase { case joining, idle, fetching, training, reporting }
    var phase = Phase.joining
    var lastHeard = 0.0
    var lastSent = 0.0
    var heartbeat: Double { Double(config.heartbeatMilliseconds) / 1000 }
    var backoff = 0.25

    struct Pending {
        var jobID: String
        var specID: String
        var job: MemberJob
        var dataset: DatasetManifest
        var warmStart: [UInt8]?
    }
    var pending: Pending?
    var fetchBuffer: [UInt8] = []
    var fetchIndex = 0
    /// Bytes of the current file asked for so far (up to `Wire.fetchWindow` chunks ahead
    /// of `fetchBuffer`).
    var fetchRequested = 0
    var fetchStarted = 0.0
    /// Watches the CURVE handshake, the only place a refused key shows.
    var monitor: ZMQSocketMonitor?
    var publicKey = ""
    /// The last handshake failure logged, and when: libzmq retries every reconnect interval,
    /// and one line per retry would flood the log.
    var lastHandshakeComplaint: (text: String, at: Double)?
    /// A finished result waiting for the coordinator's ACK (sent again after a reconnect).
    var unacknowledged: Wire.JobResult?
    var trainingThread: Thread?
    /// The last dataset loaded (decompressed and parsed), kept for the next job on it.
    let loaded = LoadedDataset()

    public init(config: WorkerConfig, log: @escaping @Sendable (String) -> Void) throws {
        HeapTuning.keepBuffers(upTo: Int(Wire.maxMessageBytes))  // results are encoded and sent as one large buffer
        self.config = config
        self.log = log
        context = try ZMQContext()
        cache = try DatasetCache(directory: config.cacheDirectory)
        try cache.checkUsable()
    }

    deinit {
        monitor?.close()
        socket?.close()
        context.shutdown()
    }

    /// Logs handshake failures, each distinct one at once and again every 30 s while it lasts.
    func reportHandshakeFailures(now: Double) {
        guard let events = try? monitor?.drain() else { return }
        for event in events {
            guard let text = HandshakeDiagnosis.describe(event, role: "worker", publicKey: publicKey) else { continue }
            if let last = lastHandshakeComplaint, last.text == text, now - last.at < 30 { continue }
            lastHandshakeComplaint = (text, now)
            log(text)
        }
    }

    func connect() throws {
        monitor?.close()
        monitor = nil
        socket?.close()
        let s = try ZMQSocket(context: context, type: .dealer)
        try s.setLinger(milliseconds: 0)
        try s.setMaxMessageSize(Wire.maxMessageBytes)
        try s.setReconnectInterval(milliseconds: 100, maxMilliseconds: 2000)
        if let secret = config.curveSecretKey, let server = config.serverPublicKey {
            (monitor, publicKey) = try HandshakeDiagnosis.secure(s, secretKey: secret, serverPublicKey: server)
        }
        try s.connect(config.endpoint)
        socket = s
        phase = pending == nil && unacknowledged == nil && trainingThread == nil ? .joining : phase
        lastHeard = MonotonicClock.seconds()
        sendHello()
    }

    func send(_ m: Message) {
        guard let s = socket else { return }
        _ = try? s.send(m.frames(), dontWait: true)
        lastSent = MonotonicClock.seconds()
    }

    func send(_ m: some WireMessage) { send(m.envelope) }

    func sendHello() {
        send(Wire.Hello(name: config.name, host: ProcessInfo.processInfo.hostName, cores: ProcessInfo.processInfo.activeProcessorCount,
                        threads: config.threads, kernel: BinaryKernels.active.rawValue,
                        versions: ["benn": BennVersion.current, "blas": BLAS.coreName], workerID: workerID))
    }

    /// Runs until `shouldStop` returns true; then hands back a running job (BYE) and returns.
    public func run(until shouldStop: () -> Bool) throws {
        Parallelism.threads = config.threads
        try connect()
        log("worker \(config.name) connecting to \(config.endpoint) (\(config.threads) thread\(config.threads == 1 ? "" : "s"))")
        while !shouldStop() {
            let now = MonotonicClock.seconds()
            if let frames = try? socket?.receive(timeoutMilliseconds: 20) {
                lastHeard = now
                backoff = 0.25
                handle(frames)
            }
            for m in outbox.take() {
                send(m)
                if m.type == .result || m.type == .failed {
                    trainingThread = nil
                    pending = nil
                    // Ask for the next job at once; the result is kept (and sent again
                    // after a reconnect) until the coordinator ACKs it as durable.
                    unacknowledged = m.type == .result ? try? Wire.JobResult(m) : nil
                    phase = .idle
                    send(Wire.Ready())
                }
            }
            if now - lastSent >= heartbeat { send(Wire.Heartbeat(role: "worker")) }
            reportHandshakeFailures(now: now)
            if now - lastHeard > heartbeat * Double(config.liveness) {
                log("coordinator silent for \(Int((now - lastHeard) * 1000)) ms; reconnecting in \(Int(backoff * 1000)) ms")
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 8)
                try connect()
            }
        }
        if let p = pending {
            send(Wire.Bye(jobID: p.jobID))
            log("stopping: job \(p.jobID) handed back")
        } else {
            send(Wire.Bye())
        }
        Thread.sleep(forTimeInterval: 0.05)
    }

    func handle(_ frames: [[UInt8]]) {
        do {
            let m = try Message.decode(frames)
            switch m.type {
            case .welcome:
                _ = try Wire.Welcome(m)
                if let r = unacknowledged { send(r) }  // the coordinator may have restarted before storing it
                if phase == .fetching, pending != nil {
                    // Requests in flight died with the old connection: ask again from what
                    // arrived. The coordinator has put the job back in its queue; a result
                    // for it is still applied once, whoever finishes first.
                    fetchRequested = fetchBuffer.count
                    requestChunks()
                }
                if trainingThread == nil && pending == nil {
                    phase = .idle
                    send(Wire.Ready())
                }
            case .heartbeat:
                break
            case .ack:
                if try Wire.Ack(m).jobID == unacknowledged?.jobID { unacknowledged = nil }
            case .job:
                offered(m)
            case .data:
                do { try receiveData(Wire.DataChunk(m)) } catch { failFetch("\(error)") }
            case .error:
                let refusal = try Wire.Refusal(m)
                if refusal.code == .helloRequired {
                    sendHello()
                } else if let job = refusal.jobID, job == unacknowledged?.jobID {
                    // The coordinator will not take this result: sending it again after a
                    // reconnect would only count against the job once more.
                    unacknowledged = nil
                    log("coordinator refused the result of job \(Sanitized.text(job, limit: 200)): \(Sanitized.text(refusal.reason, limit: 500))")
                } else if phase == .fetching, let p = pending, fetchIndex < p.dataset.files.count,
                          refusal.sha256 == p.dataset.files[fetchIndex].sha256 {
                    failFetch("the coordinator cannot serve the dataset: \(Sanitized.text(refusal.reason, limit: 500))")
                } else {
                    log("coordinator refused a message: \(Sanitized.text(refusal.reason, limit: 500))")
                }
            default:
                log("ignored unexpected \(m.type.rawValue) from the coordinator")
            }
        } catch {
            log("dropped a malformed message from the coordinator: \(error)")
        }
    }

    /// A JOB: taken, or refused with FAILED. A refusal that is not "busy" is followed by
    /// READY, or the coordinator would never send this worker another job.
    func offered(_ m: Message) {
        // The member number is inside the job, so the coordinator can tell which job is refused.
        let member = (try? m.decodeField("job", as: MemberJob.self))?.member ?? -1
        let jobID = Sanitized.text(m.optionalString("job_id") ?? "", limit: 200)
        let specID = Sanitized.text(m.optionalString("spec_id") ?? "", limit: 200)
        if let p = pending {
            // A restarted coordinator does not know this worker is busy: the job goes back
            // to its queue, and the refusal must not count as the job failing.
            log("refused job \(jobID): still on job \(p.jobID)")
            send(Wire.JobFailed(jobID: jobID, specID: specID, member: member, error: "busy with job \(p.jobID)", busy: true))
            return
        }
        do { try startJob(Wire.JobOffer(m)) } catch {
            log("cannot take job \(jobID): \(error)")
            pending = nil
            phase = .idle
            send(Wire.JobFailed(jobID: jobID, specID: specID, member: member, error: "\(error)"))
            send(Wire.Ready())
        }
    }

    func startJob(_ offer: Wire.JobOffer) throws {
        guard trainingThread == nil, pending == nil else { throw Message.Invalid(description: "already running a job") }
        try JobLimits.check(offer, cache: cache)
        let p = Pending(jobID: offer.jobID, specID: offer.specID, job: offer.job, dataset: offer.dataset, warmStart: offer.warmStart)
        pending = p
        log("job \(p.jobID): member \(p.job.member) of \(p.specID)")
        if cache.isComplete(p.dataset) {
            try beginTraining()
        } else {
            phase = .fetching
            fetchIndex = 0
            fetchBuffer = []
            fetchRequested = 0
            fetchStarted = MonotonicClock.seconds()
            requestChunks()
        }
    }

    /// Gives up the job whose data could not be fetched and asks for other work (without
    /// READY the coordinator would never send this worker another job).
    func failFetch(_ reason: String) {
        log("dataset transfer failed: \(reason)")
        guard let p = pending else { return }
        pending = nil
        phase = .idle
        send(Wire.JobFailed(jobID: p.jobID, specID: p.specID, member: p.job.member, error: reason))
        send(Wire.Ready())
    }

    /// Keeps up to `Wire.fetchWindow` chunks of the current file requested; DATA comes back
    /// in request order over the one connection.
    func requestChunks() {
        guard let p = pending, fetchIndex < p.dataset.files.count else { return }
        let f = p.dataset.files[fetchIndex]
        // An empty file is still asked for once (its answer is the empty chunk).
        while fetchRequested < max(f.size, 1), fetchRequested - fetchBuffer.count < Wire.fetchWindow * Wire.chunkBytes {
            send(Wire.FetchData(sha256: f.sha256, offset: fetchRequested))
            fetchRequested += Wire.chunkBytes
        }
    }

    func receiveData(_ m: Wire.DataChunk) throws {
        guard phase == .fetching, let p = pending, fetchIndex < p.dataset.files.count else { return }
        let f = p.dataset.files[fetchIndex]
        let chunk = m.bytes
        guard m.sha256 == f.sha256, m.offset == fetchBuffer.count, chunk.count <= f.size - fetchBuffer.count else {
            throw Message.Invalid(description: "DATA chunk does not match the request")
        }
        guard !chunk.isEmpty || fetchBuffer.count == f.size else {
            throw Message.Invalid(description: "dataset file \(f.name) ended after \(fetchBuffer.count) of \(f.size) bytes")
        }
        if fetchBuffer.isEmpty { fetchBuffer.reserveCapacity(f.size) }  // no regrowth copies
        fetchBuffer += chunk
        if fetchBuffer.count >= f.size {
            try cache.store(fetchBuffer, as: f, in: p.dataset)
            log("fetched \(f.name) (\(f.size) bytes)")
            fetchIndex += 1
            fetchBuffer = []
            fetchRequested = 0
            if fetchIndex == p.dataset.files.count {
                let seconds = MonotonicClock.seconds() - fetchStarted, bytes = p.dataset.files.reduce(0) { $0 + $1.size }
                log("dataset fetched: \(bytes) bytes in \(Int((seconds * 1000).rounded())) ms (\(Int((Double(bytes) / seconds / 1e6).rounded())) MB/s)")
                try beginTraining()
                return
            }
        }
        requestChunks()
    }

    func beginTraining() throws {
        guard let p = pending else { return }
        phase = .training
        let folder = cache.folder(for: p.dataset)
        let outbox = self.outbox
        let log = self.log
        let loaded = self.loaded
        let box = UnsafeSendableBox(p)
        let thread = Thread {
            let p = box.value
            do {
                let (train, test) = try loaded.images(folder: folder, data: p.job.spec.data)
                let data = try TrainingData.make(spec: p.job.spec, trainImages: train, testImages: test)
                let warm = try p.warmStart.map { try SafeTensors.decode($0, path: "warm start").tensors }
                var lastProgress = 0.0
                let result = try MemberTrainer.train(p.job, data: data, warmStart: warm) { event in
                    let now = MonotonicClock.seconds()
                    guard now - lastProgress > 0.5 else { return }
                    lastProgress = now
                    if case let .batch(epoch, epochs, batch, batches, loss, accuracy, rate, _) = event {
                        let text = "epoch \(epoch)/\(epochs) batch \(batch)/\(batches) loss \(Float(Int(loss * 10000)) / 10000) acc \(Float(Int(accuracy * 10000)) / 100)% \(Int(rate)) samples/s"
                        outbox.post(Wire.Progress(jobID: p.jobID, specID: p.specID, member: p.job.member, text: text).envelope)
                    }
                }
                var file = SafeTensors()
                for (name, t) in result.tensors { file.set(name, t) }
                outbox.post(Wire.JobResult(jobID: p.jobID, specID: p.specID, member: p.job.member, history: .from(result.history),
                                           seconds: result.seconds, tensors: file.encoded(),
                                           misses: result.trainingMisses.map { $0.map { $0 ? 1 : 0 } }).envelope)
                log("job \(p.jobID) finished in \(Int(result.seconds)) s")
            } catch {
                outbox.post(Wire.JobFailed(jobID: p.jobID, specID: p.specID, member: p.job.member, error: "\(error)").envelope)
                log("job \(p.jobID) failed: \(error)")
            }
        }
        thread.stackSize = 16 << 20
        trainingThread = thread
        thread.start()
    }
}

/// A worker's in-memory copy of the dataset it trained on last: decompressing and parsing
/// Fashion-MNIST takes about half a second, once per worker instead of once per job.
final class LoadedDataset: @unchecked Sendable {
    private let lock = NSLock()
    private var folder: String?
    private var images: (train: LabeledImages, test: LabeledImages)?

    /// The images of the dataset in `folder`, read as `data` (the job spec's data section)
    /// says: its format and CIFAR-100 labels.
    func images(folder: String, data: TrainingSpec.DataSpec) throws -> (train: LabeledImages, test: LabeledImages) {
        lock.lock()
        defer { lock.unlock() }
        let key = "\(folder) \(data.format.rawValue) \(data.labels.rawValue)"
        if self.folder == key, let images { return images }
        let loaded = try TrainingData.load(directory: folder, format: data.format, labels: data.labels)
        self.folder = key
        images = loaded
        return loaded
    }
}
