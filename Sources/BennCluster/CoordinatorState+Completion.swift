import BennData
import BennEnsemble
import BennNN
import BennTensor
import BennTrain
import Foundation

/// A result's tensors to check off the event loop.
public struct Verification: @unchecked Sendable {
    var peer: [UInt8]
    var result: Wire.JobResult
    var expectedShapes: [String: [Int]]
    /// Boosting: one miss byte per training sample, exactly.
    var expectedMisses: Int?

    /// Checks a result without copying its data: header, byte ranges, checksum, and exactly
    /// the model's tensors by name, dtype and shape; decodes its history and misses.
    func run() -> CoordinatorCompletion {
        let r = result
        let origin = ResultOrigin(peer: peer, jobID: r.jobID, spec: r.specID, member: r.member)
        do {
            let file = try SafeTensors.decode(r.tensors, path: "result of \(r.jobID)", materialize: false, requireChecksum: true)
            guard Set(file.entries.keys) == Set(expectedShapes.keys) else {
                throw Message.Invalid(description: "RESULT tensors do not match the model (\(file.entries.count) given, \(expectedShapes.count) expected)")
            }
            for (name, e) in file.entries where e.dtype != .f32 || expectedShapes[name] != e.shape {
                throw Message.Invalid(description: "RESULT tensor \(name) is \(e.dtype.rawValue) \(e.shape), the model needs F32 \(expectedShapes[name]!)")
            }
            if let n = expectedMisses, r.misses?.count != n {
                throw Message.Invalid(description: "RESULT of a boosting member needs \(n) training-sample misses, got \(r.misses.map { "\($0.count)" } ?? "none")")
            }
            let history = try r.decodedHistory()
            return .verified(Verified(origin: origin, history: history, misses: r.misses.map { $0.map { $0 != 0 } },
                                      seconds: r.seconds, tensorBytes: r.tensors))
        } catch {
            return .refused(origin, reason: "\(error)")
        }
    }
}

/// Which worker delivered which job's result: whom its ACK or refusal goes to.
public struct ResultOrigin: Sendable, Equatable {
    var peer: [UInt8]
    var jobID: String
    var spec: String
    var member: Int
}

/// A result whose tensors passed the checks.
public struct Verified: @unchecked Sendable {
    var origin: ResultOrigin
    var history: [EpochStats]
    var misses: [Bool]?
    var seconds: Double
    var tensorBytes: [UInt8]
}

/// A member file and journal entry to make durable, and whom to ACK then.
public struct PersistTask: @unchecked Sendable {
    var entry: Journal.Entry
    /// The member's tensors and their file, relative to the state directory.
    var file: (bytes: [UInt8], name: String)?
    var origin: ResultOrigin
    var accepted: Bool
    var note: String
    var attempt = 1
}

/// What aggregating a spec needs, copied off the event loop's objects.
public struct ArtifactJob: @unchecked Sendable {
    var id: String
    var state: EnsembleState
    var data: EnsembleData
    var model: ModelDescription
    var memberFiles: [Int: String]
    var classNames: [String]
    var datasetHash: String
    /// Where the artifact goes, and the same path as the journal records it (relative to
    /// the state directory when inside it, so a moved state directory keeps working).
    var path: String
    var journalPath: String
    var stateDirectory: String
}

/// What the coordinator's other threads report back to the event loop.
public enum CoordinatorCompletion: @unchecked Sendable {
    case verified(Verified)
    case refused(ResultOrigin, reason: String)
    case durable(PersistTask, error: String?)
    case prepared(peer: [UInt8], run: SpecRun)
    case prepareFailed(peer: [UInt8], reason: String)
    case finished(spec: String, artifact: String)
    case finishFailed(spec: String, reason: String)
}

extension CoordinatorState {
    public mutating func complete(_ c: CoordinatorCompletion, now: Double) -> [CoordinatorAction] {
        var out: [CoordinatorAction] = []
        switch c {
        case let .verified(v): apply(v, now: now, &out)
        case let .refused(origin, reason): refuse(origin, reason: reason, now: now, &out)
        case let .durable(task, error): durable(task, error: error, now: now, &out)
        case let .prepared(peer, run):
            add(run, &out)
            out.append(.send(peer, Wire.Accepted(id: run.id).envelope))
            dispatchWaiting(now: now, &out)
        case let .prepareFailed(peer, reason):
            out.append(.send(peer, Wire.Refusal(.badSpec, reason).envelope))
        case let .finished(spec, artifact):
            guard let run = specIndex[spec] else { break }
            run.finishing = false
            run.finishedArtifact = artifact
            forgetAttempts(of: spec)
            out.append(.log("spec \(run.id) finished: artifact \(artifact)"))
        case let .finishFailed(spec, reason):
            guard let run = specIndex[spec] else { break }
            run.finishing = false
            out.append(.log("spec \(run.id): cannot write the artifact: \(reason)"))
        }
        return out
    }

    func doneVerifying(_ run: SpecRun, _ member: Int) {
        if let n = run.verifying[member] { run.verifying[member] = n > 1 ? n - 1 : nil }
    }

    /// A checked result: applied exactly once, then stored; the ACK follows when durable.
    mutating func apply(_ v: Verified, now: Double, _ out: inout [CoordinatorAction]) {
        let (peer, jobID, spec, member) = (v.origin.peer, v.origin.jobID, v.origin.spec, v.origin.member)
        guard let run = specIndex[spec] else { return }
        doneVerifying(run, member)
        guard !run.isDone, Self.isReady(run.state, member: member) else {
            out.append(.log("dropped a duplicate result for \(spec) member \(member) (job \(jobID))"))
            out.append(.send(peer, Wire.Ack(jobID: jobID, duplicate: true).envelope))
            dispatchWaiting(now: now, &out)
            return
        }
        workers[peer]?.failureStreak = 0
        var state = run.state
        let outcome = state.apply(MemberResult(member: member, tensors: [:], history: v.history, trainingMisses: v.misses, seconds: v.seconds))
        let misses = v.misses.map(Journal.packMisses)
        let trainer = workers[peer]?.name ?? "a worker"
        func entry(_ file: String?) -> Journal.Entry {
            .result(id: spec, member: member, file: file, trainingCount: state.trainingCount, classes: state.classes,
                    history: v.history, seconds: v.seconds, misses: misses)
        }
        switch outcome {
        case .duplicate:
            out.append(.send(peer, Wire.Ack(jobID: jobID, duplicate: true).envelope))
        case .accepted:
            let name = Journal.memberFileName(spec: spec, member: member)
            run.state = state
            run.memberFiles[member] = name
            run.unwritten.insert(member)
            persist(PersistTask(entry: entry(name), file: (v.tensorBytes, name), origin: v.origin, accepted: true, note: "member \(member) of \(spec) stored, trained by \(trainer) (\(run.state.members.count)/\(run.spec.ensemble.members))"),
                    run: run, &out)
        case let .rejected(reason):
            run.state = state
            persist(PersistTask(entry: entry(nil), file: nil, origin: v.origin, accepted: false, note: "member \(member) of \(spec) not kept: \(reason)"),
                    run: run, &out)
        }
        for e in state.events.suffix(1) where e.hasPrefix("boosting") { out.append(.log(e)) }
        dispatchWaiting(now: now, &out)
    }

    mutating func persist(_ task: PersistTask, run: SpecRun, _ out: inout [CoordinatorAction]) {
        run.pendingWrites += 1
        out.append(.persist(task))
    }

    /// A result that failed the checks: its job goes back to the queue (counted as a failed
    /// attempt) and the worker is told why.
    mutating func refuse(_ origin: ResultOrigin, reason: String, now: Double, _ out: inout [CoordinatorAction]) {
        let (peer, jobID, member) = (origin.peer, origin.jobID, origin.member)
        guard let run = specIndex[origin.spec] else { return }
        doneVerifying(run, member)
        out.append(.log("refused RESULT of job \(jobID) from \(peerName(peer)): \(reason)"))
        out.append(.send(peer, Wire.Refusal(.invalid, reason, jobID: jobID).envelope))
        if !run.isDone && !run.state.finished.contains(member) {
            out.append(.log("job \(jobID) back in the queue: its result failed verification"))
            countFailure(run, member: member, reason: reason, worker: workers[peer]?.name, &out)
            workerFailed(peer, now: now, &out)
        }
        dispatchWaiting(now: now, &out)
    }

    /// A write that became durable: the ACK goes out and a complete spec is aggregated. A
    /// write that failed (a full disk) is retried with back-off, its member not yet counted
    /// as done and its worker not yet acknowledged.
    mutating func durable(_ task: PersistTask, error: String?, now: Double, _ out: inout [CoordinatorAction]) {
        guard let run = specIndex[task.origin.spec] else { return }
        if let error {
            let delay = min(60, 0.5 * Double(1 << min(task.attempt, 7)))
            run.writeError = error
            out.append(.log("cannot store member \(task.origin.member) of \(task.origin.spec) (attempt \(task.attempt)): \(error); retrying in \(delay) s"))
            var again = task
            again.attempt += 1
            retries.append((now + delay, again))
            return
        }
        run.pendingWrites -= 1
        run.unwritten.remove(task.origin.member)
        if run.pendingWrites == 0 { run.writeError = nil }
        out.append(.log(task.note))
        out.append(.send(task.origin.peer, Wire.Ack(jobID: task.origin.jobID, duplicate: false).envelope))
        if run.pendingWrites == 0 && run.state.isComplete && !run.isDone && !run.finishing { finish(run, &out) }
    }

    // MARK: Specs

    /// A validated spec's normal form and id (from its content).
    mutating func identify(_ spec: TrainingSpec) throws -> (TrainingSpec, String) {
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

    /// A client's SUBMIT: data is loaded and the spec journaled off the loop (`.prepare`);
    /// ACCEPTED or ERROR follows.
    mutating func submit(_ peer: [UInt8], _ m: Wire.SubmitSpec, _ out: inout [CoordinatorAction]) {
        do {
            // A remote client may only name the artifact, never choose where the coordinator
            // writes: the file goes into the state directory's artifacts/.
            var output: String? = nil
            if let name = m.output {
                guard Self.isPlainFileName(name) else {
                    throw Message.Invalid(description: "output must be a plain file name (letters, digits, '.', '-', '_'), got '\(Sanitized.text(name, limit: 64))'")
                }
                output = "artifacts/\(name)"
            }
            let (s, id) = try identify(m.spec)
            out.append(.prepare(peer, SpecRun(id: id, spec: s, output: output, state: EnsembleState(spec: s, trainingCount: 0, classes: 0))))
        } catch {
            out.append(.send(peer, Wire.Refusal(.badSpec, "spec refused: \(error)").envelope))
        }
    }

    mutating func add(_ run: SpecRun, _ out: inout [CoordinatorAction]) {
        specs.append(run)
        specIndex[run.id] = run
        out.append(.log("accepted spec \(run.id): \(run.spec.ensemble.strategy.rawValue) of \(run.spec.ensemble.members) \(run.spec.model) members, \(run.spec.train.epochs) epochs each"))
    }

    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) }
    }

    /// Aggregates a complete spec (off the loop); a spec with no member kept fails.
    mutating func finish(_ run: SpecRun, _ out: inout [CoordinatorAction]) {
        guard run.finishedArtifact == nil else { return }
        if run.state.members.isEmpty {
            fail(run, run.state.stopReason ?? "no member was kept", &out)
            return
        }
        guard let data = run.data, let model = run.model else { return }
        let journalPath = run.output ?? "artifacts/\(run.id).benn"
        let path = journalPath.hasPrefix("/") ? journalPath : settings.stateDirectory + "/" + journalPath
        run.finishing = true
        out.append(.writeArtifact(ArtifactJob(id: run.id, state: run.state, data: data, model: model, memberFiles: run.memberFiles,
                                              classNames: run.classNames, datasetHash: run.datasetHash, path: path,
                                              journalPath: journalPath, stateDirectory: settings.stateDirectory)))
    }

    // MARK: Restore

    /// Rebuilds specs, applied members, attempts and counters from the journal; returns the
    /// unfinished specs, whose data the owner must load (`resumed`).
    mutating func restore(_ entries: [Journal.Entry]) -> [SpecRun] {
        var deltas: [String: [(member: Int, trainingCount: Int, classes: Int, history: [EpochStats], seconds: Double, misses: String?)]] = [:]
        var bases: [String: EnsembleState] = [:]
        for entry in entries {
            switch entry {
            case let .spec(id, spec, output, _):
                let run = SpecRun(id: id, spec: spec, output: output.map(relativeToState), state: EnsembleState(spec: spec, trainingCount: 0, classes: 0))
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
            case let .dispatched(id, member, job, holder):
                attempts[job] = Attempt(key: JobKey(spec: id, member: member), holder: holder)
                if let n = Int(job.split(separator: "/").last ?? "") { jobCounter = max(jobCounter, n) }
            case let .finished(id, artifact):
                specIndex[id]?.finishedArtifact = artifact.hasPrefix("/") ? artifact : settings.stateDirectory + "/" + artifact
            case let .failed(id, reason):
                specIndex[id]?.failure = reason
            }
        }
        for run in specs {
            if run.isDone { forgetAttempts(of: run.id) }
            let list = deltas[run.id] ?? []
            guard var state = bases[run.id] ?? list.first.map({ EnsembleState(spec: run.spec, trainingCount: $0.trainingCount, classes: $0.classes) }) else { continue }
            for d in list {
                let misses = d.misses.flatMap { Journal.unpackMisses($0, count: d.trainingCount) }
                _ = state.apply(MemberResult(member: d.member, tensors: [:], history: d.history, trainingMisses: misses, seconds: d.seconds))
            }
            run.state = state
        }
        jobCounter = max(jobCounter, specs.count * 1000)
        return specs.filter { !$0.isDone }
    }

    /// A path as the journal keeps it: relative to the state directory when inside it (so a
    /// moved state directory keeps working), as given otherwise. A relative `path` is taken
    /// as the journal's own (older journals hold absolute paths, start-up outputs are made
    /// absolute by the caller).
    func relativeToState(_ path: String) -> String {
        guard path.hasPrefix("/") else { return path }
        let cwd = FileManager.default.currentDirectoryPath
        let dir = settings.stateDirectory.hasPrefix("/") ? settings.stateDirectory : cwd + "/" + settings.stateDirectory
        let prefix = dir.hasSuffix("/") ? dir : dir + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    /// An unfinished spec from the journal whose data is loaded (or could not be).
    mutating func resumed(_ run: SpecRun, error: String?) -> [CoordinatorAction] {
        var out: [CoordinatorAction] = []
        if let error {
            fail(run, "cannot resume: \(error)", &out)
            return out
        }
        out.append(.log("resumed spec \(run.id): \(run.state.members.count) of \(run.spec.ensemble.members) members already done"))
        if run.state.isComplete { finish(run, &out) }
        return out
    }

    // MARK: Status

    public func status(now: Double, eventLoopCPU: Double) -> ClusterStatus {
        let specList = specs.map { run -> ClusterStatus.Spec in
            let state = run.isDone ? (run.failure != nil ? "failed" : "finished")
                : (!run.assigned.isEmpty || !run.verifying.isEmpty || run.finishing || run.pendingWrites > 0 ? "running" : "queued")
            return ClusterStatus.Spec(id: run.id, model: run.spec.model, strategy: run.spec.ensemble.strategy.rawValue, state: state,
                                      membersDone: run.state.members.count - run.unwritten.count, members: run.spec.ensemble.members,
                                      running: run.assigned.sorted(), artifact: run.finishedArtifact, error: run.failure,
                                      stopReason: run.state.stopReason, writeError: run.writeError)
        }
        let workerList = workers.values.sorted { $0.name < $1.name }.map { w in
            ClusterStatus.Worker(name: w.name, host: w.hello.host, cores: w.hello.cores, threads: w.hello.threads, kernel: w.hello.kernel,
                                 job: w.job.map { "\($0.spec)/m\($0.member)" },
                                 progress: w.quarantinedUntil > now
                                     ? "quarantined after \(w.failureStreak) failed jobs in a row, \(Int(w.quarantinedUntil - now)) s left" : w.progress,
                                 lastHeartbeatMsAgo: Int((now - w.lastSeen) * 1000))
        }
        func summary(_ values: [Double]) -> ClusterStatus.Latency {
            let sorted = values.sorted()
            func quantile(_ q: Double) -> Double? {
                sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] * 1000
            }
            return .init(count: sorted.count, median: quantile(0.5), p99: quantile(0.99))
        }
        return ClusterStatus(specs: specList, workers: workerList, dispatchLatencyMs: summary(dispatchLatencies),
                             largeReceiveMs: summary(largeReceiveTimes), eventLoopCpuS: eventLoopCPU)
    }
}
