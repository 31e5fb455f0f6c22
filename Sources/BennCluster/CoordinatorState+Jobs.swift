import BennData
import BennEnsemble
import BennNN
import BennTrain
import Foundation

/// A spec the coordinator runs: its ensemble state and what its jobs and checks need.
public final class SpecRun: @unchecked Sendable {
    let id: String
    let spec: TrainingSpec
    /// Where the artifact goes: relative to the state directory unless absolute.
    let output: String?
    var state: EnsembleState
    var data: EnsembleData?
    var dataset: DatasetManifest?
    var model: ModelDescription?
    var classNames: [String] = []
    var datasetHash = ""
    /// Member tensor files, relative to the state directory.
    var memberFiles: [Int: String] = [:]
    /// Name and shape of every tensor a member of this spec must return.
    var expectedShapes: [String: [Int]] = [:]
    var attempts: [Int: Int] = [:]
    var finishedArtifact: String?
    /// Member writes queued on the writer and not yet durable, and the accepted members
    /// among them (not counted as done in `benn status` until they are on disk).
    var pendingWrites = 0
    var unwritten: Set<Int> = []
    /// The last write error while a write is being retried.
    var writeError: String?
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
    /// The last job encoded (boosting jobs carry a weight per training sample), with the
    /// number of members it was planned after.
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

final class WorkerInfo {
    let routingID: [UInt8]
    /// Who may deliver the attempts this worker is given (CoordinatorState.identity).
    let identity: String
    /// What it said of itself, its text made safe for logs.
    let hello: Wire.Hello
    var name: String { hello.name }
    var lastSeen: Double
    var job: CoordinatorState.JobKey?
    var progress = ""
    var waitingForWork = false
    /// In the queue of workers waiting for a job.
    var queued = false
    /// RESULTs for the job it was given that counted as asking for the next job: as many
    /// READYs (sent with those RESULTs) are redundant.
    var impliedReadies = 0
    /// When this worker's last result arrived, until its next job leaves.
    var resultArrivedAt: Double?
    /// Jobs that failed on this worker in a row, and how often it has been set aside: a
    /// worker that keeps failing for reasons of its own (a broken disk, a full cache) gets
    /// no jobs until `quarantinedUntil`, so it cannot use up the attempts of every spec.
    var failureStreak = 0
    var quarantines = 0
    var quarantinedUntil = 0.0

    init(routingID: [UInt8], identity: String, hello: Wire.Hello, now: Double) {
        (self.routingID, self.identity, self.lastSeen) = (routingID, identity, now)
        var safe = hello
        safe.name = Sanitized.text(hello.name, limit: 100)
        safe.host = Sanitized.text(hello.host, limit: 100)
        safe.kernel = Sanitized.text(hello.kernel, limit: 40)
        safe.workerID = nil
        safe.versions = [:]
        self.hello = safe
    }
}

extension CoordinatorState {
    // MARK: Dispatch

    mutating func assign(_ key: JobKey, to w: WorkerInfo, jobID: String, now: Double) {
        assignments[key] = Assignment(worker: w.routingID, jobID: jobID, started: now)
        attempts[jobID] = Attempt(key: key, holder: w.identity)
        specIndex[key.spec]?.assigned.insert(key.member)
        w.job = key
    }

    @discardableResult
    mutating func unassign(_ key: JobKey) -> Assignment? {
        guard let a = assignments.removeValue(forKey: key) else { return nil }
        specIndex[key.spec]?.assigned.remove(key.member)
        if let w = workers[a.worker], w.job == key { w.job = nil }
        return a
    }

    mutating func requeue(_ key: JobKey, reason: String, _ out: inout [CoordinatorAction]) {
        guard let a = unassign(key) else { return }
        out.append(.log("job \(a.jobID) back in the queue: \(reason)"))
    }

    /// A job whose worker died or overran: back in the queue, as a failed attempt.
    mutating func abandon(_ key: JobKey, reason: String, worker: String?, _ out: inout [CoordinatorAction]) {
        guard let a = unassign(key) else { return }
        out.append(.log("job \(a.jobID) back in the queue: \(reason)"))
        if let run = specIndex[key.spec], !run.isDone, !run.state.finished.contains(key.member) {
            countFailure(run, member: key.member, reason: reason, worker: worker, &out)
        }
    }

    /// Gives an idle worker the first ready job of the oldest spec with one; false if there
    /// is none.
    @discardableResult
    mutating func dispatch(to w: WorkerInfo, now: Double, _ out: inout [CoordinatorAction]) -> Bool {
        guard w.waitingForWork, w.quarantinedUntil <= now else { return false }
        for run in specs where !run.isDone && !run.finishing && run.data != nil {
            let busy = run.busy
            if run.state.members.count + busy.count >= run.spec.ensemble.members { continue }
            guard let job = run.state.readyJobs(running: busy).first else { continue }
            let key = JobKey(spec: run.id, member: job.member)
            jobCounter += 1
            let jobID = "\(run.id)/m\(job.member)/\(jobCounter)"
            let warmStart = job.warmStartFrom.flatMap { run.memberFiles[$0] }.map { settings.stateDirectory + "/" + $0 }
            let jobJSON: [UInt8]
            if let c = run.jobCache, c.member == job.member, c.planned == run.state.members.count, run.state.stopReason == nil {
                jobJSON = c.json
            } else {
                jobJSON = Wire.JobOffer.json(job, spec: run.specJSON)
                run.jobCache = (job.member, run.state.members.count, jobJSON)
            }
            // The owner times the dispatch from the result's arrival to the JOB's send.
            out.append(.sendJob(w.routingID, jobID: jobID, specID: run.id, job: jobJSON, dataset: run.datasetJSON, warmStart: warmStart,
                                resultArrived: w.resultArrivedAt))
            w.resultArrivedAt = nil
            assign(key, to: w, jobID: jobID, now: now)
            out.append(.note(.dispatched(id: run.id, member: job.member, job: jobID, holder: w.identity)))
            w.waitingForWork = false
            w.progress = "starting"
            out.append(.log("job \(jobID) -> worker \(w.name)"))
            return true
        }
        return false
    }

    /// Dispatches ready jobs to waiting workers, longest waiting first.
    mutating func dispatchWaiting(now: Double, _ out: inout [CoordinatorAction]) {
        var setAside = 0
        while waitingHead < waiting.count {
            let id = waiting[waitingHead]
            guard let w = workers[id], w.waitingForWork else {
                workers[id]?.queued = false
                waitingHead += 1
                continue
            }
            if w.quarantinedUntil > now {
                // Set aside, not gone: it waits at the back for its quarantine to end (once
                // every worker left in the queue is set aside, stop).
                waiting.append(id)
                waitingHead += 1
                setAside += 1
                if setAside >= waiting.count - waitingHead { break }
                continue
            }
            guard dispatch(to: w, now: now, &out) else { break }  // nothing ready for anyone
            w.queued = false
            waitingHead += 1
        }
        if waitingHead > 1024 && waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }

    /// Whether a result for `member` can be applied now: `readyJobs()` without building the
    /// jobs (boosting jobs copy a weight per training sample).
    static func isReady(_ state: EnsembleState, member: Int) -> Bool {
        guard !state.isComplete, member >= 0, member < state.target else { return false }
        let done = state.finished
        if done.contains(member) { return false }
        guard state.spec.ensemble.strategy == .boosting || state.spec.ensemble.start == .sequential else { return true }
        // Each member depends on the previous one: only the first unfinished one is ready.
        return (0..<member).allSatisfy { done.contains($0) }
    }

    /// A job failed on `peer` (FAILED, or a result that failed its check): after two in a
    /// row the worker is set aside (`quarantineSeconds`, doubling up to 5 minutes each time).
    mutating func workerFailed(_ peer: [UInt8], now: Double, _ out: inout [CoordinatorAction]) {
        guard let w = workers[peer] else { return }
        w.failureStreak += 1
        guard w.failureStreak >= 2, settings.quarantineSeconds > 0 else { return }
        let seconds = min(300, settings.quarantineSeconds * Double(1 << min(w.quarantines, 5)))
        w.quarantines += 1
        w.quarantinedUntil = now + seconds
        out.append(.log("worker \(w.name) quarantined for \(Int(seconds)) s: \(w.failureStreak) jobs failed on it in a row"))
    }

    mutating func countFailure(_ run: SpecRun, member: Int, reason: String, worker: String?, _ out: inout [CoordinatorAction]) {
        run.attempts[member, default: 0] += 1
        let n = run.attempts[member]!
        if n >= settings.maxAttempts {
            fail(run, "member \(member) failed \(n) times; last error from \(worker ?? "a worker"): \(reason)", &out)
        } else {
            out.append(.log("member \(member) of \(run.id) failed on \(worker ?? "a worker") (attempt \(n) of \(settings.maxAttempts)): \(reason)"))
        }
    }

    mutating func fail(_ run: SpecRun, _ reason: String, _ out: inout [CoordinatorAction]) {
        guard run.failure == nil else { return }
        run.failure = reason
        out.append(.record(.failed(id: run.id, reason: reason)))
        out.append(.log("spec \(run.id) failed: \(reason)"))
        forgetAttempts(of: run.id)
    }

    mutating func forgetAttempts(of spec: String) {
        attempts = attempts.filter { $0.value.key.spec != spec }
    }

    // MARK: Results

    /// The attempt `jobID` if `peer` is the worker it was dispatched to and the message
    /// names its spec and member; otherwise the refusal to send.
    func attempt(_ jobID: String?, spec: String, member: Int, from peer: [UInt8], _ what: MessageType) -> Result<Attempt, Wire.Refusal> {
        guard let w = workers[peer] else { return .failure(Wire.Refusal(.helloRequired, "unknown worker; send HELLO before \(what.rawValue)")) }
        guard let jobID, let a = attempts[jobID], a.key == JobKey(spec: spec, member: member) else {
            return .failure(Wire.Refusal(.forbidden, "\(what.rawValue) for a job this coordinator did not dispatch (\(Sanitized.text(jobID ?? "no job_id", limit: 80)))"))
        }
        guard a.holder == w.identity else {
            return .failure(Wire.Refusal(.forbidden, "\(what.rawValue) for job \(jobID), which was dispatched to another worker"))
        }
        return .success(a)
    }

    /// A RESULT: cheap checks here; the tensors are checked off the loop while the member
    /// counts as running. The RESULT of the job a worker holds also asks for its next job,
    /// which leaves at once.
    mutating func result(_ peer: [UInt8], _ m: Wire.JobResult, now: Double, _ out: inout [CoordinatorAction]) throws {
        if workers[peer] != nil, let run = specIndex[m.specID], run.isDone {
            // A late copy, or one sent again after a reconnect, for a spec that has ended:
            // nothing is applied, and the worker may forget it.
            out.append(.log("dropped a result for \(m.specID) member \(m.member) (job \(Sanitized.text(m.jobID, limit: 80))): the spec has ended"))
            out.append(.send(peer, Wire.Ack(jobID: m.jobID, duplicate: true).envelope))
            return
        }
        if case var .failure(refusal) = attempt(m.jobID, spec: m.specID, member: m.member, from: peer, .result) {
            refusal.jobID = m.jobID
            throw refusal
        }
        guard let run = specIndex[m.specID], let w = workers[peer] else { return }
        let key = JobKey(spec: m.specID, member: m.member)
        w.resultArrivedAt = now
        // The worker is done with its job and, per the protocol, ready for the next.
        let asksForNext = w.job == key && assignments[key]?.jobID == m.jobID
        if w.job == key { w.job = nil }
        if assignments[key]?.worker == peer || assignments[key]?.jobID == m.jobID { unassign(key) }
        // Only a member whose dependencies are met and that is not done yet can be applied;
        // anything else is a late copy of a re-dispatched job.
        var check: Verification?
        if !run.isDone, Self.isReady(run.state, member: m.member) {
            run.verifying[m.member, default: 0] += 1
            check = Verification(peer: peer, result: m, expectedShapes: run.expectedShapes,
                                 expectedMisses: run.spec.ensemble.strategy == .boosting ? run.state.trainingCount : nil)
        } else {
            out.append(.log("dropped a duplicate result for \(m.specID) member \(m.member) (job \(m.jobID))"))
            out.append(.send(peer, Wire.Ack(jobID: m.jobID, duplicate: true).envelope))
        }
        // The next job leaves before the check is handed off: a thread woken for the check
        // could take the CPU from the event loop for a few milliseconds.
        if asksForNext {
            w.impliedReadies += 1
            w.waitingForWork = true
            w.progress = "idle"
            if !dispatch(to: w, now: now, &out), !w.queued {
                w.queued = true
                waiting.append(w.routingID)
            }
        }
        if let check { out.append(.verify(check)) }
    }

    mutating func failed(_ peer: [UInt8], _ m: Wire.JobFailed, now: Double, _ out: inout [CoordinatorAction]) throws {
        let key = JobKey(spec: m.specID, member: m.member)
        guard let run = specIndex[m.specID] else { return }
        // Only this worker's current copy of the job: a stale FAILED must not unassign the
        // member from the worker it was given to since.
        guard let a = assignments[key], a.worker == peer, m.jobID == nil || a.jobID == m.jobID,
              case .success = attempt(a.jobID, spec: m.specID, member: m.member, from: peer, .failed) else {
            out.append(.log("ignored a FAILED for \(Sanitized.text(m.specID, limit: 64)) member \(m.member) that is not assigned to \(peerName(peer))"))
            return
        }
        let name = workers[peer]?.name ?? "?"
        if m.busy {
            // The worker is still on a job it was given before this coordinator (re)started:
            // nothing went wrong with this one, so it goes back to the queue uncounted.
            requeue(key, reason: "worker \(name) is busy with an earlier job", &out)
        } else {
            unassign(key)
            countFailure(run, member: m.member, reason: Sanitized.text(m.error, limit: 2000), worker: name, &out)
            workerFailed(peer, now: now, &out)
        }
        dispatchWaiting(now: now, &out)
    }
}
