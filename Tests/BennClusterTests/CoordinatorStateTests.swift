import XCTest
@testable import BennCluster
import BennCore
import BennEnsemble
import BennTrain
import Foundation

/// The coordinator's scheduling and trust rules, driven as a state machine: messages in,
/// actions out, no sockets or threads.
final class CoordinatorStateTests: XCTestCase {
    var directory: String!
    let a: [UInt8] = [0, 0, 0, 1], b: [UInt8] = [0, 0, 0, 2], stranger: [UInt8] = [0, 0, 0, 9]

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cstate-\(getpid())-\(abs(name.hashValue))").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        try writeTinyDataset(directory + "/data", count: 40)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func spec(_ strategy: TrainingSpec.Strategy = .bagging, members: Int = 2) -> TrainingSpec {
        var s = TrainingSpec()
        s.model = "tinymlp"
        s.data.directory = directory + "/data"
        s.ensemble.strategy = strategy
        s.ensemble.members = strategy == .single ? 1 : members
        return s
    }

    func makeState(maxAttempts: Int = 3, workerKeys: Set<String>? = nil, clientKeys: Set<String>? = nil) -> CoordinatorState {
        var settings = CoordinatorState.Settings()
        settings.stateDirectory = directory
        settings.maxAttempts = maxAttempts
        settings.heartbeatMilliseconds = 100
        settings.liveness = 3
        settings.workerKeys = workerKeys
        settings.clientKeys = clientKeys
        return CoordinatorState(settings: settings)
    }

    /// Submits a spec as a client would and completes its preparation.
    @discardableResult
    func submit(_ state: inout CoordinatorState, _ s: TrainingSpec, now: Double = 0) throws -> String {
        let actions = state.receive(Wire.SubmitSpec(spec: s, output: nil).frames(), from: stranger, userID: nil, now: now)
        guard case let .prepare(peer, run)? = actions.first else { XCTFail("no prepare: \(actions)"); throw XCTSkip() }
        try CoordinatorWork.prepare(run, datasets: DatasetServer())
        let done = state.complete(.prepared(peer: peer, run: run), now: now)
        XCTAssertEqual(sent(done, to: stranger).map(\.type), [.accepted])
        return run.id
    }

    func hello(_ state: inout CoordinatorState, _ peer: [UInt8], name: String, workerID: String? = nil, userID: String? = nil, now: Double = 0) -> [CoordinatorAction] {
        state.receive(Wire.Hello(name: name, host: "h", cores: 1, threads: 1, kernel: "scalar", workerID: workerID).frames(), from: peer, userID: userID, now: now)
    }

    func sent(_ actions: [CoordinatorAction], to peer: [UInt8]) -> [Message] {
        actions.compactMap { if case let .send(p, m) = $0, p == peer { return m } else { return nil } }
    }

    /// (job id, member) of the JOBs sent to `peer`.
    func jobs(_ actions: [CoordinatorAction], to peer: [UInt8]) -> [(String, Int)] {
        actions.compactMap {
            guard case let .sendJob(p, jobID, _, job, _, _, _) = $0, p == peer,
                  case let .object(o)? = try? JSONValue.decode(job), let member = o["member"]?.intValue else { return nil }
            return (jobID, member)
        }
    }

    func result(_ jobID: String, spec: String, member: Int) -> [[UInt8]] {
        Wire.JobResult(jobID: jobID, specID: spec, member: member, history: .array([]), seconds: 1, tensors: [1, 2, 3]).frames()
    }

    func logs(_ actions: [CoordinatorAction]) -> [String] {
        actions.compactMap { if case let .log(l) = $0 { return l } else { return nil } }
    }

    func testWaitingWorkersGetJobsInOrderAndEachDispatchIsJournaled() throws {
        var state = makeState()
        _ = hello(&state, a, name: "a")
        _ = hello(&state, b, name: "b")
        XCTAssertTrue(jobs(state.receive(Wire.Ready().frames(), from: a, userID: nil, now: 0), to: a).isEmpty, "nothing to do yet")
        _ = state.receive(Wire.Ready().frames(), from: b, userID: nil, now: 0)
        let actions = state.receive(Wire.SubmitSpec(spec: spec(), output: nil).frames(), from: stranger, userID: nil, now: 0)
        guard case let .prepare(peer, run)? = actions.first else { return XCTFail("\(actions)") }
        try CoordinatorWork.prepare(run, datasets: DatasetServer())
        let done = state.complete(.prepared(peer: peer, run: run), now: 1)
        XCTAssertEqual(jobs(done, to: a).map(\.1), [0], "the longest-waiting worker first")
        XCTAssertEqual(jobs(done, to: b).map(\.1), [1])
        let notes = done.compactMap { if case let .note(.dispatched(id, member, job, holder)) = $0 { return (id, member, job, holder) } else { return nil } }
        XCTAssertEqual(notes.map(\.1), [0, 1])
        XCTAssertEqual(notes[0].2, jobs(done, to: a)[0].0)
        XCTAssertEqual(notes[0].3, "peer:" + CoordinatorState.hex(a, bytes: 32))
    }

    func testOnlyTheWorkerGivenTheAttemptMayDeliverIt() throws {
        var state = makeState(maxAttempts: 2)
        let id = try submit(&state, spec(.single))
        _ = hello(&state, a, name: "a")
        _ = hello(&state, b, name: "b")
        let (jobID, member) = try XCTUnwrap(jobs(state.receive(Wire.Ready().frames(), from: a, userID: nil, now: 0), to: a).first)
        // A peer that never said HELLO, and a worker that was not given the job: refused,
        // never verified, and however often they try the spec does not fail.
        for _ in 0..<5 {
            let forged = state.receive(result(jobID, spec: id, member: member), from: stranger, userID: nil, now: 0)
            XCTAssertEqual(try sent(forged, to: stranger).map { try Wire.Refusal($0).code }, [.helloRequired])
            let other = state.receive(result(jobID, spec: id, member: member), from: b, userID: nil, now: 0)
            XCTAssertEqual(try sent(other, to: b).map { try Wire.Refusal($0).code }, [.forbidden])
            XCTAssertFalse((forged + other).contains { if case .verify = $0 { return true } else { return false } })
            let madeUp = state.receive(result("\(id)/m0/999", spec: id, member: 0), from: b, userID: nil, now: 0)
            XCTAssertEqual(try sent(madeUp, to: b).map { try Wire.Refusal($0).code }, [.forbidden])
            let failed = state.receive(Wire.JobFailed(jobID: jobID, specID: id, member: member, error: "forged").frames(), from: b, userID: nil, now: 0)
            XCTAssertTrue(logs(failed).contains { $0.contains("ignored a FAILED") }, "\(failed)")
        }
        XCTAssertNil(state.specIndex[id]!.failure)
        XCTAssertEqual(state.specIndex[id]!.attempts[member], nil)
        // The holder's own result is checked.
        let own = state.receive(result(jobID, spec: id, member: member), from: a, userID: nil, now: 0)
        XCTAssertTrue(own.contains { if case .verify = $0 { return true } else { return false } })
    }

    func testTheHolderMayStillDeliverAfterAReconnectOrARestart() throws {
        var state = makeState()
        let id = try submit(&state, spec(.single))
        _ = hello(&state, a, name: "a", workerID: "token-a")
        let (jobID, member) = try XCTUnwrap(jobs(state.receive(Wire.Ready().frames(), from: a, userID: nil, now: 0), to: a).first)
        // The worker falls silent, its job goes back to the queue; it reconnects on a new
        // connection with the same token and delivers the first attempt.
        _ = state.tick(now: 10)
        XCTAssertTrue(state.workers.isEmpty)
        let again: [UInt8] = [0, 0, 0, 3]
        _ = hello(&state, again, name: "a", workerID: "token-a", now: 11)
        XCTAssertTrue(state.receive(result(jobID, spec: id, member: member), from: again, userID: nil, now: 11).contains {
            if case .verify = $0 { return true } else { return false }
        })
        // A restarted coordinator knows the holder from the journal.
        var restarted = makeState()
        let pending = restarted.restore([
            .spec(id: id, spec: state.specIndex[id]!.spec, output: nil, submitted: "then"),
            .dispatched(id: id, member: member, job: jobID, holder: "id:token-a"),
            .dispatched(id: id, member: member, job: "\(id)/m\(member)/5000", holder: "id:token-c"),
        ])
        for run in pending { try CoordinatorWork.prepare(run, datasets: DatasetServer()); _ = restarted.resumed(run, error: nil) }
        _ = hello(&restarted, b, name: "impostor", workerID: "token-b")
        XCTAssertEqual(try sent(restarted.receive(result(jobID, spec: id, member: member), from: b, userID: nil, now: 0), to: b).map { try Wire.Refusal($0).code }, [.forbidden])
        _ = hello(&restarted, again, name: "a", workerID: "token-a")
        XCTAssertTrue(restarted.receive(result(jobID, spec: id, member: member), from: again, userID: nil, now: 0).contains {
            if case .verify = $0 { return true } else { return false }
        })
        // Above the journal's highest job number (5000), not only above the 1000-per-spec floor.
        XCTAssertGreaterThanOrEqual(restarted.jobCounter, 5000, "new job ids do not reuse journaled ones")
    }

    func testAWorkerThatDiesDuringAJobCountsAsAnAttempt() throws {
        var state = makeState(maxAttempts: 2)
        let id = try submit(&state, spec(.single))
        for (k, peer) in [a, b].enumerated() {
            let now = Double(k) * 10
            _ = hello(&state, peer, name: "w\(k)", now: now)
            XCTAssertEqual(jobs(state.receive(Wire.Ready().frames(), from: peer, userID: nil, now: now), to: peer).count, 1)
            let dropped = state.tick(now: now + 5)
            XCTAssertTrue(logs(dropped).contains { $0.contains("back in the queue: worker w\(k) fell silent") }, "\(logs(dropped))")
        }
        let run = try XCTUnwrap(state.specIndex[id])
        XCTAssertEqual(run.failure?.contains("failed 2 times"), true, run.failure ?? "not failed")
        XCTAssertTrue(state.attempts.isEmpty, "a failed spec's attempts are forgotten")
    }

    func testAPeerThatStopsReadingIsDroppedAndItsJobRequeued() throws {
        var state = makeState()
        let id = try submit(&state, spec(.single))
        _ = hello(&state, a, name: "a")
        _ = state.receive(Wire.Ready().frames(), from: a, userID: nil, now: 0)
        XCTAssertEqual(state.specIndex[id]!.assigned, [0])
        let actions = state.stalled(a, now: 1)
        XCTAssertNil(state.workers[a])
        XCTAssertEqual(state.specIndex[id]!.assigned, [])
        XCTAssertEqual(state.specIndex[id]!.attempts[0], 1)
        XCTAssertTrue(logs(actions).contains { $0.contains("does not read") })
        // It is not a worker any more: FETCH_DATA queues nothing for it.
        let fetch = state.receive(Wire.FetchData(sha256: String(repeating: "a", count: 64), offset: 0).frames(), from: a, userID: nil, now: 2)
        XCTAssertEqual(try sent(fetch, to: a).map { try Wire.Refusal($0).code }, [.helloRequired])
        XCTAssertFalse(fetch.contains { if case .sendChunk = $0 { return true } else { return false } })
    }

    func testKeysHaveRoles() throws {
        var state = makeState(workerKeys: ["W", "B"], clientKeys: ["C", "B"])
        XCTAssertEqual(try sent(hello(&state, a, name: "x", userID: "C"), to: a).map { try Wire.Refusal($0).code }, [.forbidden])
        XCTAssertNil(state.workers[a])
        XCTAssertEqual(sent(hello(&state, a, name: "x", userID: "W"), to: a).map(\.type), [.welcome])
        XCTAssertEqual(sent(hello(&state, b, name: "y", userID: "B"), to: b).map(\.type), [.welcome])
        let status = state.receive(Wire.StatusRequest().frames(), from: stranger, userID: "W", now: 0)
        XCTAssertEqual(try sent(status, to: stranger).map { try Wire.Refusal($0).code }, [.forbidden])
        XCTAssertTrue(state.receive(Wire.StatusRequest().frames(), from: stranger, userID: "C", now: 0).contains {
            if case .sendStatus = $0 { return true } else { return false }
        })
    }

    func testAFailedWriteIsRetriedAndNotCountedUntilItIsOnDisk() throws {
        var state = makeState()
        let id = try submit(&state, spec(.bagging, members: 2))
        _ = hello(&state, a, name: "a")
        let (jobID, member) = try XCTUnwrap(jobs(state.receive(Wire.Ready().frames(), from: a, userID: nil, now: 0), to: a).first)
        let verified = Verified(origin: ResultOrigin(peer: a, jobID: jobID, spec: id, member: member), history: [], misses: nil, seconds: 1, tensorBytes: [1])
        _ = state.receive(result(jobID, spec: id, member: member), from: a, userID: nil, now: 0)
        let applied = state.complete(.verified(verified), now: 0)
        guard case let .persist(task)? = applied.first(where: { if case .persist = $0 { return true } else { return false } }) else { return XCTFail("\(applied)") }
        let failed = state.complete(.durable(task, error: "No space left on device"), now: 1)
        XCTAssertTrue(sent(failed, to: a).isEmpty, "no ACK before the member is on disk")
        var status = state.status(now: 1, eventLoopCPU: 0).specs[0]
        XCTAssertEqual(status.membersDone, 0)
        XCTAssertEqual(status.writeError, "No space left on device")
        XCTAssertFalse(state.tick(now: 1.1).contains { if case .persist = $0 { return true } else { return false } }, "back-off")
        let retried = state.tick(now: 10)
        guard case let .persist(again)? = retried.first(where: { if case .persist = $0 { return true } else { return false } }) else { return XCTFail("not retried: \(retried)") }
        XCTAssertEqual(again.attempt, 2)
        let stored = state.complete(.durable(again, error: nil), now: 11)
        XCTAssertEqual(try sent(stored, to: a).map { try Wire.Ack($0).jobID }, [jobID])
        status = state.status(now: 11, eventLoopCPU: 0).specs[0]
        XCTAssertEqual(status.membersDone, 1)
        XCTAssertNil(status.writeError)
    }

    func testPeerTextCannotForgeLogLines() {
        var state = makeState()
        let actions = hello(&state, a, name: "evil\n[12:00:00] spec s1 finished: artifact /etc/passwd\u{1b}[2J")
        let joined = logs(actions).joined(separator: "\n")
        XCTAssertEqual(joined.split(separator: "\n").count, 1, joined)
        XCTAssertFalse(joined.contains("\u{1b}"), joined)
        XCTAssertTrue(joined.contains("evil\\n[12:00:00]"), joined)
        XCTAssertEqual(state.workers[a]?.name.contains("\n"), false)
    }

    func testSubmittedSpecsAreValidatedAndOutputsStayInTheStateDirectory() {
        var state = makeState()
        var bad = spec()
        bad.train.batchSize = 1 << 40
        let refused = state.receive(Wire.SubmitSpec(spec: bad, output: nil).frames(), from: stranger, userID: nil, now: 0)
        XCTAssertEqual(try sent(refused, to: stranger).map { try Wire.Refusal($0).code }, [.badSpec])
        let escape = state.receive(Wire.SubmitSpec(spec: spec(), output: "../x.benn").frames(), from: stranger, userID: nil, now: 0)
        XCTAssertEqual(try sent(escape, to: stranger).map { try Wire.Refusal($0).code }, [.badSpec])
        let fine = state.receive(Wire.SubmitSpec(spec: spec(), output: "x.benn").frames(), from: stranger, userID: nil, now: 0)
        guard case let .prepare(_, run)? = fine.first else { return XCTFail("\(fine)") }
        XCTAssertEqual(run.output, "artifacts/x.benn", "journaled relative to the state directory")
    }

    /// A worker whose jobs keep failing is set aside, so it cannot use up a spec's attempts
    /// while a healthy worker could finish it.
    func testAWorkerWhoseJobsKeepFailingIsQuarantined() throws {
        var state = makeState(maxAttempts: 3)
        let id = try submit(&state, spec(.bagging, members: 3))
        _ = hello(&state, a, name: "broken")
        var now = 0.0
        for _ in 0..<2 {
            let (jobID, member) = try XCTUnwrap(jobs(state.receive(Wire.Ready().frames(), from: a, userID: nil, now: now), to: a).first)
            let failed = state.receive(Wire.JobFailed(jobID: jobID, specID: id, member: member, error: "cannot write the cache").frames(), from: a, userID: nil, now: now)
            now += 0.1
            if logs(failed).contains(where: { $0.contains("quarantined for 10 s") }) { break }
        }
        XCTAssertGreaterThan(state.workers[a]!.quarantinedUntil, now)
        XCTAssertTrue(jobs(state.receive(Wire.Ready().frames(), from: a, userID: nil, now: now), to: a).isEmpty, "no job while quarantined")
        XCTAssertTrue(state.status(now: now, eventLoopCPU: 0).workers[0].progress.contains("quarantined"))
        XCTAssertNil(state.specIndex[id]!.failure)
        // A healthy worker gets the work meanwhile, and the spec does not fail.
        _ = hello(&state, b, name: "healthy", now: now)
        XCTAssertEqual(jobs(state.receive(Wire.Ready().frames(), from: b, userID: nil, now: now), to: b).count, 1)
        // Once the quarantine is over the worker takes jobs again.
        _ = state.receive(Wire.Heartbeat(role: "worker").frames(), from: a, userID: nil, now: now + 0.2)
        let later = state.tick(now: now + 0.25)
        XCTAssertTrue(jobs(later, to: a).isEmpty)
        state.workers[a]!.lastSeen = now + 10.4
        state.workers[b]!.lastSeen = now + 10.4
        XCTAssertEqual(jobs(state.tick(now: now + 10.5), to: a).count, 1, "quarantine over")
    }
}

