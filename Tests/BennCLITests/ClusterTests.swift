import XCTest
import BennCluster
import BennEnsemble
import BennTransport
import Foundation

/// Helpers for tests with real processes on loopback: a coordinator, workers and clients
/// started from the built `benn` executable.
class ClusterTestCase: XCTestCase {
    var directory: String!
    var processes: [Process] = []

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-\(getpid())-\(abs(name.hashValue))").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        try writeDataset()
    }

    override func tearDownWithError() throws {
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for p in processes { p.waitUntilExit() }
        if ProcessInfo.processInfo.environment["BENN_KEEP_TEST_DIRS"] == nil { try? FileManager.default.removeItem(atPath: directory) }
    }

    var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("benn").path
    }

    /// Starts `benn ARGS` with output to `log` (in the test directory).
    @discardableResult
    func start(_ arguments: [String], log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        try Data().write(to: URL(fileURLWithPath: directory + "/" + log))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/" + log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        processes.append(p)
        return p
    }

    func run(_ arguments: [String], timeout: Double = 120) throws -> (status: Int32, output: String) {
        let p = try start(arguments, log: "run-\(processes.count).log")
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return (p.terminationStatus, read("run-\(processes.count - 1).log"))
    }

    func read(_ log: String) -> String {
        (try? String(contentsOfFile: directory + "/" + log, encoding: .utf8)) ?? ""
    }

    /// Waits until `log` contains `text`; returns the log.
    @discardableResult
    func waitFor(_ text: String, in log: String, timeout: Double = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let s = read(log)
            if s.contains(text) { return s }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTFail("'\(text)' never appeared in \(log):\n\(read(log))")
        throw XCTSkip("timed out")
    }

    func writeDataset() throws {
        func idx(_ magic: UInt32, _ dims: [Int], _ payload: [UInt8]) -> Data {
            var b: [UInt8] = [0, 0, UInt8((magic >> 8) & 255), UInt8(magic & 255)]
            for d in dims { b += [UInt8(d >> 24), UInt8((d >> 16) & 255), UInt8((d >> 8) & 255), UInt8(d & 255)] }
            return Data(b + payload)
        }
        var state: UInt64 = 12345
        func next(_ n: Int) -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) % n }
        for (prefix, count) in [("train", 240), ("t10k", 60)] {
            var pixels = [UInt8](), labels = [UInt8]()
            for _ in 0..<count {
                let l = next(8)
                // 15% of labels are wrong, so no member reaches zero training error
                // (which would end boosting after one member).
                labels.append(UInt8(next(100) < 15 ? next(8) : l))
                var img = (0..<64).map { _ in UInt8(next(120)) }
                for x in 0..<8 where next(3) != 0 { img[l * 8 + x] = 255 }
                pixels += img
            }
            try idx(0x803, [count, 8, 8], pixels).write(to: URL(fileURLWithPath: "\(directory!)/data/\(prefix)-images-idx3-ubyte"))
            try idx(0x801, [count], labels).write(to: URL(fileURLWithPath: "\(directory!)/data/\(prefix)-labels-idx1-ubyte"))
        }
    }

    func writeSpec(_ strategy: String, members: Int = 3, epochs: Int = 3, model: String = "tinymlp", name: String = "spec.yaml") throws -> String {
        let spec = """
        model: \(model)
        seed: 7
        threads: 1
        data:
          directory: \(directory!)/data
          validation: 40
        train:
          epochs: \(epochs)
          batch_size: 16
          learning_rate: 0.01
        ensemble:
          strategy: \(strategy)
          members: \(members)
        """
        try spec.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        return name
    }

    func startCoordinator(log: String = "coordinator.log", extra: [String] = []) throws -> String {
        try start(["coordinator", "--bind", "tcp://127.0.0.1:*", "--state", "state", "--heartbeat-ms", "200", "--liveness", "5"] + extra, log: log)
        let text = try waitFor("coordinator listening on ", in: log)
        let line = text.split(separator: "\n").first { $0.contains("coordinator listening on ") }!
        return String(line.split(separator: " ").first { $0.hasPrefix("tcp://") }!)
    }

    func startWorker(_ endpoint: String, name: String, extra: [String] = []) throws -> Process {
        try start(["worker", "--connect", endpoint, "--threads", "1", "--name", name, "--cache", "cache-\(name)", "--heartbeat-ms", "200"] + extra,
                  log: "\(name).log")
    }

    /// The artifact without its `run` field (the only one allowed to differ).
    func reproducibleBytes(_ path: String) throws -> [UInt8] {
        var file = try SafeTensorsLite.read(directory + "/" + path)
        file.metadata["run"] = nil
        file.metadata["benn.file_checksum"] = nil  // covers `run` too
        return file.canonical()
    }

    /// A protocol-level peer: a DEALER socket that has said HELLO.
    func connect(_ endpoint: String, name: String) throws -> (ZMQContext, ZMQSocket) {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        try socket.setLinger(milliseconds: 0)
        try socket.connect(endpoint)
        _ = try socket.send(Wire.Hello(name: name, host: "test", cores: 1, threads: 1, kernel: "none").frames())
        return (context, socket)
    }

    /// The next message of `type` on a protocol-level peer's socket, answering heartbeats on
    /// the way.
    func expectMessage(_ type: MessageType, on socket: ZMQSocket, timeout: Double = 20) throws -> Message {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let frames = try socket.receive(timeoutMilliseconds: 100) else { continue }
            let m = try Message.decode(frames)
            if m.type == .heartbeat { _ = try socket.send(Wire.Heartbeat(role: "worker").frames()); continue }
            if m.type == type { return m }
        }
        XCTFail("no \(type.rawValue) within \(timeout) s")
        throw XCTSkip("timed out")
    }

    func inProcess(_ spec: String) throws -> String {
        let r = try run(["train", spec, "--threads", "1", "-o", "inprocess.benn"])
        XCTAssertEqual(r.status, 0, r.output)
        return "inprocess.benn"
    }

}

/// Faults injected by SIGKILL and hostile frames; equality with in-process training.
final class ClusterTests: ClusterTestCase {
    func testClusterEnsemblesEqualInProcessOnes() throws {
        for strategy in ["bagging", "boosting"] {
            let spec = try writeSpec(strategy)
            let expected = try reproducibleBytes(try inProcess(spec))
            let endpoint = try startCoordinator(log: "coordinator-\(strategy).log", extra: ["--state", "state-\(strategy)"])
            _ = try startWorker(endpoint, name: "a-\(strategy)")
            _ = try startWorker(endpoint, name: "b-\(strategy)")
            let r = try run(["submit", spec, "--coordinator", endpoint, "--wait", "-o", "\(strategy).benn"])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertEqual(try reproducibleBytes("\(strategy).benn"), expected, "\(strategy): cluster artifact differs from in-process")
            let log = read("coordinator-\(strategy).log")
            XCTAssertTrue(log.contains("a-\(strategy)") && log.contains("b-\(strategy)"), log)
            XCTAssertTrue((read("a-\(strategy).log") + read("b-\(strategy).log")).contains("fetched train-images-idx3-ubyte"),
                          "datasets travel by hash")
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        }
    }

    func testKilledWorkerCostsOnlyItsJob() throws {
        let spec = try writeSpec("bagging", epochs: 40)
        let expected = try reproducibleBytes(try inProcess(spec))
        let endpoint = try startCoordinator()
        let victim = try startWorker(endpoint, name: "victim")
        _ = try run(["submit", spec, "--coordinator", endpoint])
        try waitFor("job s1", in: "victim.log")
        kill(victim.processIdentifier, SIGKILL)
        _ = try startWorker(endpoint, name: "survivor")
        try waitFor("worker victim dropped", in: "coordinator.log")
        try waitFor("finished: artifact", in: "coordinator.log", timeout: 120)
        let r = try run(["submit", spec, "--coordinator", endpoint, "--wait", "-o", "again.benn"])
        XCTAssertEqual(r.status, 0)
        let artifact = read("coordinator.log").split(separator: "\n").first { $0.contains("s1-") && $0.contains("finished: artifact") }!
        let path = String(artifact.split(separator: " ").last!)
        XCTAssertEqual(try reproducibleBytes(path), expected)
    }

    func testKilledCoordinatorResumesFromItsJournal() throws {
        let spec = try writeSpec("boosting", epochs: 12)
        let expected = try reproducibleBytes(try inProcess(spec))
        var endpoint = try startCoordinator(log: "coordinator1.log")
        let first = processes.last!
        _ = try startWorker(endpoint, name: "w")
        _ = try run(["submit", spec, "--coordinator", endpoint, "--remote-output", "out.benn"])
        try waitFor("member 0 of s1", in: "coordinator1.log")  // logged once stored on disk
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        // Same state directory, same port: the worker reconnects by itself.
        let port = endpoint.split(separator: ":").last!
        try start(["coordinator", "--bind", "tcp://127.0.0.1:\(port)", "--state", "state", "--heartbeat-ms", "200"], log: "coordinator2.log")
        endpoint = "tcp://127.0.0.1:\(port)"
        let log = try waitFor("finished: artifact", in: "coordinator2.log", timeout: 120)
        XCTAssertTrue(log.contains("resumed spec s1"), log)
        XCTAssertFalse(log.contains("member 0 of s1"), "member 0 must not be trained again:\n\(log)")
        XCTAssertTrue(log.contains("1 of 3 members already done") || log.contains("2 of 3 members already done"), log)
        XCTAssertEqual(try reproducibleBytes("state/artifacts/out.benn"), expected)
        // A client may only name the artifact, not pick a path on the coordinator's host.
        let sneaky = try run(["submit", spec, "--coordinator", endpoint, "--remote-output", "../../etc/passwd"])
        XCTAssertNotEqual(sneaky.status, 0)
        XCTAssertTrue(sneaky.output.contains("plain file name"), sneaky.output)
    }

    func testHostileFramesAreDroppedAndServiceGoesOn() throws {
        let endpoint = try startCoordinator()
        let context = try ZMQContext()
        let raw = try ZMQSocket(context: context, type: .dealer)
        try raw.setLinger(milliseconds: 0)
        try raw.connect(endpoint)
        let garbage: [[[UInt8]]] = [
            [[0xde, 0xad, 0xbe, 0xef]],
            [Array("HTTP/1.1".utf8), Array("GET".utf8), Array("/".utf8)],
            [Array("BENN/1".utf8)],
            [Array("BENN/0".utf8), Array("HELLO".utf8), Array("{}".utf8)],
            [Array("BENN/1".utf8), Array("HELLO".utf8), Array("{\"name\": 5}".utf8)],
            [Array("BENN/1".utf8), Array("RESULT".utf8), Array("{\"spec_id\":\"nope\",\"member\":0,\"job_id\":\"x\"}".utf8), [1, 2, 3]],
            [Array("BENN/1".utf8), Array("JOB".utf8), Array("{}".utf8)],
            [Array("BENN/1".utf8), Array("SUBMIT".utf8), Array("{\"spec\": {\"model\": \"nonsense\"}}".utf8)],
            [Array("BENN/1".utf8), Array("READY".utf8), [UInt8](repeating: 0x7b, count: 100_000)],
        ]
        var replies: [String] = []
        for frames in garbage {
            _ = try raw.send(frames)
            if let reply = try raw.receive(timeoutMilliseconds: 2000), reply.count >= 3 {
                replies.append(String(decoding: reply[2], as: UTF8.self))
            }
        }
        XCTAssertTrue(replies.contains { $0.contains("protocol version mismatch") }, "\(replies)")
        XCTAssertTrue(replies.contains { $0.contains("not a benn message") }, "\(replies)")
        // An oversized message (over MAXMSGSIZE) is dropped by libzmq before the coordinator sees it.
        _ = try raw.send([Array("BENN/1".utf8), Array("STATUS".utf8), Array("{}".utf8), [UInt8](repeating: 0, count: Int(Wire.maxMessageBytes) + 1)])
        let r = try run(["status", "--coordinator", endpoint])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("specs:"), r.output)
        XCTAssertTrue(processes[0].isRunning, "the coordinator survived")
        raw.close()
        context.shutdown()
    }

    func testOnlyAllowListedKeysAreServed() throws {
        for name in ["coord", "good", "bad"] { XCTAssertEqual(try run(["keygen", "keys/\(name)"]).status, 0) }
        let endpoint = try startCoordinator(extra: ["--secret-key", "keys/coord.key", "--allow", "keys/good.pub"])
        _ = try startWorker(endpoint, name: "intruder", extra: ["--secret-key", "keys/bad.key", "--server-key", "keys/coord.pub"])
        _ = try startWorker(endpoint, name: "member", extra: ["--secret-key", "keys/good.key", "--server-key", "keys/coord.pub"])
        let spec = try writeSpec("bagging", members: 2, epochs: 1)
        let r = try run(["submit", spec, "--coordinator", endpoint, "--secret-key", "keys/good.key", "--server-key", "keys/coord.pub", "--wait"])
        XCTAssertEqual(r.status, 0, r.output)
        let log = read("coordinator.log")
        XCTAssertTrue(log.contains("worker member joined"), log)
        XCTAssertFalse(log.contains("worker intruder joined"), log)
        XCTAssertTrue(log.contains("is not on the allow list"), log)
        // The refused worker says so in its own log, naming the key to allow.
        let badPublicKey = read("keys/bad.pub").trimmingCharacters(in: .whitespacesAndNewlines)
        let intruderLog = try waitFor("refused this worker", in: "intruder.log", timeout: 30)
        XCTAssertTrue(intruderLog.contains("refused this worker's key \(badPublicKey)"), intruderLog)
        // A client with a refused key gets that reason, not a timeout.
        let refused = try run(["status", "--coordinator", endpoint, "--secret-key", "keys/bad.key", "--server-key", "keys/coord.pub"], timeout: 30)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("refused this client's key \(badPublicKey)"), refused.output)
        // A client holding the wrong coordinator key is told to check it.
        let wrongServer = try run(["status", "--coordinator", endpoint, "--secret-key", "keys/good.key", "--server-key", "keys/bad.pub"], timeout: 30)
        XCTAssertNotEqual(wrongServer.status, 0)
        XCTAssertTrue(wrongServer.output.contains("is --server-key the coordinator's public key?"), wrongServer.output)
        // A client without keys gets no answer.
        let anonymous = try run(["status", "--coordinator", endpoint], timeout: 30)
        XCTAssertNotEqual(anonymous.status, 0)
    }
}

/// Just enough safetensors reading to compare artifacts without importing the training stack.
struct SafeTensorsLite {
    var header: [String: Any]
    var metadata: [String: String]
    var data: [UInt8]

    static func read(_ path: String) throws -> SafeTensorsLite {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var n = 0
        for i in (0..<8).reversed() { n = n << 8 | Int(bytes[i]) }
        var header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
        let metadata = header.removeValue(forKey: "__metadata__") as? [String: String] ?? [:]
        return SafeTensorsLite(header: header, metadata: metadata, data: Array(bytes[(8 + n)...]))
    }

    func canonical() -> [UInt8] {
        var h = header
        h["__metadata__"] = metadata
        return Array(try! JSONSerialization.data(withJSONObject: h, options: [.sortedKeys])) + data
    }
}

/// A protocol-level peer in the test: speaks BENN/1 over a real DEALER socket, so the
/// coordinator's handling of failures and deadlines can be driven exactly.
final class ScriptedWorkerTests: ClusterTestCase {

    func testFailingJobIsRetriedThenTheSpecFailsWithTheWorkersError() throws {
        let endpoint = try startCoordinator(extra: ["--max-attempts", "2"])
        let (context, socket) = try connect(endpoint, name: "flaky")
        defer { socket.close(); context.shutdown() }
        _ = try expectMessage(.welcome, on: socket)
        let spec = try writeSpec("single", members: 1, epochs: 1)
        _ = try run(["submit", spec, "--coordinator", endpoint])
        for attempt in 1...2 {
            _ = try socket.send(Wire.Ready().frames())
            let job = try Wire.JobOffer(expectMessage(.job, on: socket))
            XCTAssertEqual(job.job.member, 0, "attempt \(attempt)")
            _ = try socket.send(Wire.JobFailed(jobID: job.jobID, specID: job.specID, member: 0, error: "disk full on flaky").frames())
        }
        Thread.sleep(forTimeInterval: 0.5)
        let status = try run(["status", "--coordinator", endpoint])
        XCTAssertTrue(status.output.contains("failed"), status.output)
        XCTAssertTrue(status.output.contains("disk full on flaky"), "the worker's error is reported:\n\(status.output)")
    }

    func testBusyRefusalsRequeueTheJobWithoutFailingTheSpec() throws {
        let endpoint = try startCoordinator(extra: ["--max-attempts", "2"])
        let (context, socket) = try connect(endpoint, name: "busy")
        defer { socket.close(); context.shutdown() }
        _ = try expectMessage(.welcome, on: socket)
        let spec = try writeSpec("single", members: 1, epochs: 1)
        _ = try run(["submit", spec, "--coordinator", endpoint])
        // More refusals than max-attempts: none of them is the job's fault.
        for attempt in 1...3 {
            _ = try socket.send(Wire.Ready().frames())
            let job = try Wire.JobOffer(expectMessage(.job, on: socket))
            _ = try socket.send(Wire.JobFailed(jobID: job.jobID, specID: job.specID, member: 0, error: "busy with job s0/m1/1", busy: true).frames())
            try waitFor("\(job.jobID) back in the queue: worker busy is busy", in: "coordinator.log")
            XCTAssertFalse(read("coordinator.log").contains("failed on busy"), "attempt \(attempt) was counted")
        }
        // A stale FAILED for a job this worker no longer holds changes nothing either.
        _ = try socket.send(Wire.JobFailed(jobID: "s1/m0/1", specID: "s1", member: 0, error: "disk full").frames())
        _ = try startWorker(endpoint, name: "free")
        let log = try waitFor("finished: artifact", in: "coordinator.log")
        XCTAssertTrue(log.contains("trained by free"), log)
        XCTAssertFalse(log.contains("disk full"), log)
    }

    func testJobPastItsDeadlineIsDispatchedAgain() throws {
        let endpoint = try startCoordinator(extra: ["--job-timeout", "1"])
        let (c1, slow) = try connect(endpoint, name: "slow")
        defer { slow.close(); c1.shutdown() }
        _ = try expectMessage(.welcome, on: slow)
        let spec = try writeSpec("single", members: 1, epochs: 1)
        _ = try run(["submit", spec, "--coordinator", endpoint])
        _ = try slow.send(Wire.Ready().frames())
        let first = try Wire.JobOffer(expectMessage(.job, on: slow))
        // The slow worker keeps heartbeating but never finishes; a real worker joins.
        _ = try startWorker(endpoint, name: "rescuer")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !read("coordinator.log").contains("finished: artifact") {
            if let frames = try slow.receive(timeoutMilliseconds: 100), (try? Message.decode(frames))?.type == .heartbeat {
                _ = try slow.send(Wire.Heartbeat(role: "worker").frames())
            }
        }
        let log = read("coordinator.log")
        XCTAssertTrue(log.contains("\(first.jobID) back in the queue: ran past the 1 s deadline"), log)
        XCTAssertTrue(log.contains("finished: artifact"), log)
        XCTAssertTrue(log.contains("trained by rescuer"), log)
    }
}
