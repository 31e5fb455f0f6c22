import XCTest
@testable import BennCluster
import BennCore
import BennEnsemble
import BennTrain
import Foundation

/// Job encoding in JSON, journal deltas and the writer's group commit (the JSON codec itself
/// is tested in BennCoreTests).
final class JSONCodecTests: XCTestCase {
    func testJobJSONDecodesToTheSameJob() throws {
        for strategy in [TrainingSpec.Strategy.single, .bagging, .boosting] {
            for sampling in [TrainingSpec.Sampling.resample, .weightedLoss] {
                var spec = TrainingSpec()
                spec.seed = UInt64.max - 3
                spec.ensemble.strategy = strategy
                spec.ensemble.members = 3
                spec.ensemble.sampling = sampling
                spec.ensemble.start = .sequential
                var state = EnsembleState(spec: spec, trainingCount: 7, classes: 10)
                _ = state.apply(MemberResult(member: 0, tensors: [:], history: [], trainingMisses: [true, false, false, true, false, false, false], seconds: 0))
                for job in [state.job(0), state.job(1)] {
                    let fast = Wire.JobOffer.json(job, spec: JSONValue.from(spec).encoded())
                    let message = try Message.decode(Message(.job, encodedFields: [("job", fast), ("job_id", JSONValue.string("j").encoded())]).frames())
                    XCTAssertEqual(message.optionalString("job_id"), "j")
                    let decoded = try message.decodeField("job", as: MemberJob.self)
                    XCTAssertEqual(decoded, job, "\(strategy) \(sampling)")
                    XCTAssertEqual(try message.decodeField("job", as: MemberJob.self), try Message.decode(Message(.job, ["job": .from(job)]).frames()).decodeField("job", as: MemberJob.self))
                    if case let .resample(w, _) = decoded.sampling, case let .resample(w0, _) = job.sampling {
                        XCTAssertEqual(w.map(\.bitPattern), w0.map(\.bitPattern))
                    }
                }
            }
        }
    }
}

final class ReadinessTests: XCTestCase {
    /// `isReady` agrees with `readyJobs()` for every strategy, start and progress.
    func testIsReadyAgreesWithReadyJobs() {
        for strategy in TrainingSpec.Strategy.allCases {
            for start in TrainingSpec.Start.allCases {
                var spec = TrainingSpec()
                spec.ensemble.strategy = strategy
                spec.ensemble.members = strategy == .single ? 1 : 4
                spec.ensemble.start = start
                var state = EnsembleState(spec: spec, trainingCount: 20, classes: 10)
                for order in [[0, 1, 2, 3], [2, 0, 3, 1]] {
                    for next in order {
                        let ready = Set(state.readyJobs().map(\.member))
                        for m in -1...5 { XCTAssertEqual(CoordinatorState.isReady(state, member: m), ready.contains(m), "\(strategy) \(start) member \(m)") }
                        _ = state.apply(MemberResult(member: next, tensors: [:], history: [], trainingMisses: (0..<20).map { ($0 + next) % 5 == 0 }, seconds: 0))
                    }
                    state = EnsembleState(spec: spec, trainingCount: 20, classes: 10)
                }
            }
        }
    }
}

final class JournalTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(getpid())-\(abs(name.hashValue))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func boostingSpec() -> TrainingSpec {
        var spec = TrainingSpec()
        spec.ensemble.strategy = .boosting
        spec.ensemble.members = 4
        return spec
    }

    func history(_ k: Int) -> [EpochStats] {
        let text = #"[{"epoch":1,"loss":0.1\#(k)7,"trainAccuracy":0.7,"testAccuracy":0.6,"samplesPerSecond":1234.5,"seconds":1.25,"learningRate":0.001}]"#
        return try! JSONDecoder().decode([EpochStats].self, from: Data(text.utf8))
    }

    func testMissesPackExactly() {
        for count in [0, 1, 7, 8, 9, 60_000] {
            let misses = (0..<count).map { ($0 * 7919) % 5 == 0 }
            XCTAssertEqual(Journal.unpackMisses(Journal.packMisses(misses), count: count), misses)
        }
        XCTAssertNil(Journal.unpackMisses(Journal.packMisses([true, false]), count: 9))
    }

    /// Deltas replayed in journal order rebuild the state applied in memory, and every
    /// result entry is small (no whole state).
    func testDeltaEntriesReplayToTheSameState() throws {
        let spec = boostingSpec()
        let n = 500
        var live = EnsembleState(spec: spec, trainingCount: n, classes: 10)
        let journal = try Journal(directory: directory)
        try journal.append(.spec(id: "s1-x", spec: spec, output: nil, submitted: "now"))
        for k in 0..<3 {
            let misses = (0..<n).map { $0 % 7 == k }
            _ = live.apply(MemberResult(member: k, tensors: [:], history: history(k), trainingMisses: misses, seconds: 2))
            let entry = Journal.Entry.result(id: "s1-x", member: k, file: "members/s1-x-m\(k).safetensors", trainingCount: n, classes: 10,
                                             history: history(k), seconds: 2, misses: Journal.packMisses(misses))
            XCTAssertLessThan(try Journal.line(entry).count, 1000)
            try journal.append(entry)
        }
        var replayed: EnsembleState?
        for entry in try Journal(directory: directory).replay() {
            if case let .result(_, member, _, count, classes, history, seconds, misses) = entry {
                if replayed == nil { replayed = EnsembleState(spec: spec, trainingCount: count, classes: classes) }
                _ = replayed!.apply(MemberResult(member: member, tensors: [:], history: history, trainingMisses: misses.flatMap { Journal.unpackMisses($0, count: count) }, seconds: seconds))
            }
        }
        XCTAssertEqual(replayed, live)
        XCTAssertEqual(live.members.count, 3)
    }

    func testTornLastLineIsCutBeforeTheNextAppend() throws {
        let journal = try Journal(directory: directory)
        try journal.append(.failed(id: "a", reason: "one"))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: directory + "/journal.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"failed":{"id":"b","rea"#.utf8))
        try handle.close()
        XCTAssertEqual(try journal.replay().count, 1, "a torn last line is ignored")
        let reopened = try Journal(directory: directory)
        try reopened.append(.failed(id: "c", reason: "three"))
        XCTAssertEqual(try reopened.replay(), [.failed(id: "a", reason: "one"), .failed(id: "c", reason: "three")])
    }

    /// Tasks queued together are written as one group, in order; a file that cannot be
    /// written fails its own task only, and its entry is not journaled.
    func testWriterGroupCommitKeepsOrderAndIsolatesFailures() throws {
        let journal = try Journal(directory: directory)
        let writer = JournalWriter(journal: journal)
        let done = DispatchGroup()
        let outcomes = LockedQueue<(Int, Bool)>()
        for k in 0..<20 {
            done.enter()
            let path = k == 7 ? directory + "/no-such-dir/m7" : directory + "/members/m\(k)"
            writer.submit(.init(file: ([UInt8](repeating: UInt8(k), count: 1000 + k), path), entry: .failed(id: "s\(k)", reason: "r")) { error in
                outcomes.post((k, error == nil))
                done.leave()
            })
        }
        done.wait()
        try writer.sync(.finished(id: "last", artifact: "a"))
        writer.stop()
        let results = Dictionary(uniqueKeysWithValues: outcomes.take().map { ($0.0, $0.1) })
        XCTAssertEqual(results.count, 20)
        for k in 0..<20 { XCTAssertEqual(results[k], k != 7, "task \(k)") }
        for k in 0..<20 where k != 7 {
            XCTAssertEqual(FileManager.default.contents(atPath: directory + "/members/m\(k)").map { [UInt8]($0) }, [UInt8](repeating: UInt8(k), count: 1000 + k))
        }
        let ids = try journal.replay().map { entry -> String in
            switch entry {
            case let .failed(id, _), let .finished(id, _): return id
            default: return "?"
            }
        }
        XCTAssertEqual(ids, (0..<20).filter { $0 != 7 }.map { "s\($0)" } + ["last"])
        XCTAssertFalse((try FileManager.default.contentsOfDirectory(atPath: directory + "/members")).contains { $0.contains(".tmp-") })
    }
}

/// A coordinator started on a journal written by an older coordinator (whole states) with
/// newer delta entries after it continues with the right members.
final class CoordinatorRestoreTests: XCTestCase {
    func testMixedOldAndDeltaJournalRestores() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("restore-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        try writeTinyDataset(directory + "/data", count: 40)
        var spec = TrainingSpec()
        spec.model = "tinymlp"
        spec.data.directory = directory + "/data"
        spec.ensemble.strategy = .boosting
        spec.ensemble.members = 4
        let journal = try Journal(directory: directory + "/state")
        try journal.append(.spec(id: "s1-abc", spec: spec, output: nil, submitted: "then"))
        var state = EnsembleState(spec: spec, trainingCount: 40, classes: 10)
        let m0 = (0..<40).map { $0 % 4 == 0 }, m1 = (0..<40).map { $0 % 5 == 1 }
        _ = state.apply(MemberResult(member: 0, tensors: [:], history: [], trainingMisses: m0, seconds: 1))
        try journal.append(.member(id: "s1-abc", member: 0, file: "members/s1-abc-m0.safetensors", state: state))
        _ = state.apply(MemberResult(member: 1, tensors: [:], history: [], trainingMisses: m1, seconds: 1))
        try journal.append(.result(id: "s1-abc", member: 1, file: "members/s1-abc-m1.safetensors", trainingCount: 40, classes: 10,
                                   history: [], seconds: 1, misses: Journal.packMisses(m1)))
        let coordinator = try Coordinator(config: CoordinatorConfig(bind: "tcp://127.0.0.1:*", stateDirectory: directory + "/state"), log: { _ in })
        let run = try XCTUnwrap(coordinator.state.specIndex["s1-abc"])
        XCTAssertEqual(run.state, state)
        XCTAssertEqual(run.state.readyJobs().map(\.member), [2])
        XCTAssertEqual(run.memberFiles.keys.sorted(), [0, 1])
        // The next spec number continues after the journal's.
        XCTAssertEqual(try coordinator.state.identify(spec).1.prefix(3), "s2-")
    }
}

final class SpecWireTests: XCTestCase {
    func testSpecSurvivesTheWire() throws {
        var spec = TrainingSpec()
        spec.seed = UInt64.max
        spec.train.learningRate = 0.000123456789
        let v = JSONValue.from(spec)
        let back = try Message.decode(Message(.submit, ["spec": v]).frames()).decodeField("spec", as: TrainingSpec.self)
        XCTAssertEqual(back, spec)
    }
}
