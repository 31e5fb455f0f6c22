import XCTest
import BennCluster
import BennData
import BennTransport
import Foundation

/// The cluster's trust model with real processes: peers that were not given a job cannot
/// deliver it, a peer that does not read cannot grow the coordinator's memory, a poisoned
/// spec stops after --max-attempts, keys act only in their role, and a client waiting on a
/// spec outlives a coordinator restart.
final class TrustTests: ClusterTestCase {
    /// A shell command's exit status (mounting the test's tmpfs file systems).
    func sh(_ command: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    func rawPeer(_ endpoint: String) throws -> (ZMQContext, ZMQSocket) {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        try socket.setLinger(milliseconds: 0)
        try socket.connect(endpoint)
        return (context, socket)
    }

    /// A tensor file that fails the coordinator's check (its checksum is wrong).
    let garbage: [UInt8] = {
        var header = Array(#"{"__metadata__":{"benn.checksum":"0123456789abcdef"},"w":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}}"#.utf8)
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        return (0..<8).map { UInt8((header.count >> (8 * $0)) & 255) } + header + [0, 0, 128, 63, 0, 0, 0, 64]
    }()

    func testResultsFromPeersThatWereNotGivenTheJobCountForNothing() throws {
        let spec = try writeSpec("bagging", members: 2, epochs: 1)
        let expected = try reproducibleBytes(try inProcess(spec))
        let endpoint = try startCoordinator(extra: ["--max-attempts", "2"])
        let submitted = try run(["submit", spec, "--coordinator", endpoint])
        XCTAssertEqual(submitted.status, 0, submitted.output)
        let specID = try XCTUnwrap(submitted.output.split(separator: "\n").last.map(String.init).flatMap { $0.hasPrefix("s") ? $0 : nil }, submitted.output)
        // A stranger (no HELLO) and a worker that was never given the job each deliver
        // member results that would fail the check, more often than --max-attempts.
        let (c1, stranger) = try rawPeer(endpoint)
        let (c2, idle) = try connect(endpoint, name: "idle")
        defer { stranger.close(); idle.close(); c1.shutdown(); c2.shutdown() }
        _ = try expectMessage(.welcome, on: idle)
        for (socket, code) in [(stranger, ErrorCode.helloRequired), (idle, .forbidden)] {
            for member in [0, 1, 0, 1, 0] {
                _ = try socket.send(Wire.JobResult(jobID: "\(specID)/m\(member)/1", specID: specID, member: member, history: .array([]),
                                                   seconds: 0, tensors: garbage).frames())
                XCTAssertEqual(try Wire.Refusal(expectMessage(.error, on: socket)).code, code)
            }
        }
        let status = try run(["status", "--coordinator", endpoint])
        XCTAssertFalse(status.output.contains("failed"), status.output)
        _ = try startWorker(endpoint, name: "honest")
        let log = try waitFor("finished: artifact", in: "coordinator.log", timeout: 120)
        XCTAssertFalse(log.contains("failed on"), log)
        // Nothing was dispatched before the honest worker joined: each forged id is refused
        // as one this coordinator did not dispatch.
        XCTAssertTrue(log.contains("RESULT for a job this coordinator did not dispatch (\(specID)/m0/1)"), log)
        let line = log.split(separator: "\n").first { $0.contains("finished: artifact") }!
        XCTAssertTrue(try reproducibleBytes(String(line.split(separator: " ").last!)) == expected, "the ensemble differs from in-process training")
    }

    /// VmRSS of a process in bytes.
    func residentBytes(_ pid: Int32) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
    }

    func testAPeerThatNeverReadsCannotGrowTheCoordinatorsMemory() throws {
        // Real Fashion-MNIST files, so every DATA reply is a full 4 MiB chunk.
        let fashion = "/usr/share/datasets/fashion-mnist"
        let imagesPath = fashion + "/train-images-idx3-ubyte.gz"
        let images = try XCTUnwrap(FileManager.default.contents(atPath: imagesPath), "\(imagesPath) is missing (scripts/setup installs it)")
        let hash = SHA256.hexDigest([UInt8](images))
        let spec = """
        model: tinymlp
        data: {directory: \(fashion), limit: 256, test_limit: 128}
        train: {epochs: 1, batch_size: 64}
        """
        try spec.write(toFile: directory + "/fashion.yaml", atomically: true, encoding: .utf8)
        let endpoint = try startCoordinator()
        let coordinator = processes.last!
        XCTAssertEqual(try run(["submit", "fashion.yaml", "--coordinator", endpoint]).status, 0)
        let baseline = residentBytes(coordinator.processIdentifier)
        // The flood: a peer that says HELLO, asks for chunk after chunk and never reads
        // (its own queue holds one message, so its socket stops taking data at once).
        let context = try ZMQContext()
        let flood = try ZMQSocket(context: context, type: .dealer)
        defer { flood.close(); context.shutdown() }
        try flood.setLinger(milliseconds: 0)
        try flood.setReceiveHighWaterMark(1)
        try flood.connect(endpoint)
        let chunks = (images.count + Wire.chunkBytes - 1) / Wire.chunkBytes
        var peak = baseline, sent = 0
        let started = Date()
        while Date().timeIntervalSince(started) < 30 {
            if sent % 500 == 0 { _ = try flood.send(Wire.Hello(name: "flood", host: "x", cores: 1, threads: 1, kernel: "none").frames(), dontWait: true) }
            _ = try flood.send(Wire.FetchData(sha256: hash, offset: (sent % chunks) * Wire.chunkBytes).frames(), dontWait: true)
            sent += 1
            if sent % 200 == 0 {
                peak = max(peak, residentBytes(coordinator.processIdentifier))
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        peak = max(peak, residentBytes(coordinator.processIdentifier))
        // Per peer the coordinator queues at most Wire.sendHighWaterMark chunks (64 MiB);
        // the bound leaves room for the dataset cache and the kernel's socket buffers.
        let growth = peak - baseline
        XCTAssertLessThan(growth, 256 << 20, "RSS grew by \(growth >> 20) MiB under \(sent) FETCH_DATA requests in 30 s")
        XCTAssertTrue(read("coordinator.log").contains("worker flood dropped: it does not read"), read("coordinator.log"))
        // Real work still gets done.
        _ = try startWorker(endpoint, name: "honest")
        try waitFor("finished: artifact", in: "coordinator.log", timeout: 120)
        print("flood: \(sent) requests in 30 s; coordinator RSS \(baseline >> 20) MiB before, peak \(peak >> 20) MiB")
    }

    func testAJobThatKillsEveryWorkerStopsAfterMaxAttempts() throws {
        let endpoint = try startCoordinator(extra: ["--max-attempts", "2"])
        let spec = try writeSpec("single", members: 1, epochs: 1)
        _ = try run(["submit", spec, "--coordinator", endpoint])
        for attempt in 1...2 {
            // A worker takes the job and dies with it (no BYE, no more heartbeats).
            let (context, socket) = try connect(endpoint, name: "victim\(attempt)")
            _ = try expectMessage(.welcome, on: socket)
            _ = try socket.send(Wire.Ready().frames())
            _ = try expectMessage(.job, on: socket)
            socket.close()
            context.shutdown()
            try waitFor("worker victim\(attempt) dropped", in: "coordinator.log")
        }
        let log = try waitFor("failed 2 times", in: "coordinator.log")
        XCTAssertTrue(log.contains("victim2 fell silent"), log)
        let status = try run(["status", "--coordinator", endpoint])
        XCTAssertTrue(status.output.contains("failed"), status.output)
    }

    func testKeysActOnlyInTheirRole() throws {
        for name in ["coord", "w", "c"] { XCTAssertEqual(try run(["keygen", "keys/\(name)"]).status, 0) }
        let endpoint = try startCoordinator(extra: ["--secret-key", "keys/coord.key", "--allow-worker", "keys/w.pub", "--allow-client", "keys/c.pub"])
        // A client key cannot join as a worker, nor a worker key submit.
        _ = try startWorker(endpoint, name: "posing", extra: ["--secret-key", "keys/c.key", "--server-key", "keys/coord.pub"])
        let posing = try waitFor("may not act as a worker", in: "posing.log", timeout: 30)
        XCTAssertFalse(read("coordinator.log").contains("worker posing joined"), posing)
        let spec = try writeSpec("single", members: 1, epochs: 1)
        let wrong = try run(["submit", spec, "--coordinator", endpoint, "--secret-key", "keys/w.key", "--server-key", "keys/coord.pub"])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.output.contains("may not act as a client"), wrong.output)
        _ = try startWorker(endpoint, name: "real", extra: ["--secret-key", "keys/w.key", "--server-key", "keys/coord.pub"])
        let r = try run(["submit", spec, "--coordinator", endpoint, "--secret-key", "keys/c.key", "--server-key", "keys/coord.pub", "--wait"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(read("coordinator.log").contains("trained by real"), read("coordinator.log"))
    }

    func testSubmitWaitOutlivesACoordinatorRestart() throws {
        let spec = try writeSpec("bagging", members: 3, epochs: 150)
        let endpoint = try startCoordinator(log: "first.log")
        let first = processes.last!
        _ = try startWorker(endpoint, name: "w")
        let waiting = try start(["submit", spec, "--coordinator", endpoint, "--wait", "-o", "out.benn"], log: "submit.log")
        try waitFor("member 0 of s1", in: "first.log")
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        // Longer than a request's timeout: the client must keep asking, not give up.
        Thread.sleep(forTimeInterval: 12)
        XCTAssertTrue(waiting.isRunning, read("submit.log"))
        let port = endpoint.split(separator: ":").last!
        try start(["coordinator", "--bind", "tcp://127.0.0.1:\(port)", "--state", "state", "--heartbeat-ms", "200"], log: "second.log")
        let deadline = Date().addingTimeInterval(120)
        while waiting.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertEqual(waiting.terminationStatus, 0, read("submit.log"))
        XCTAssertTrue(read("submit.log").contains("still waiting"), read("submit.log"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/out.benn"), read("submit.log"))
    }

    func testPeerTextCannotForgeLogLines() throws {
        let endpoint = try startCoordinator()
        let (context, socket) = try connect(endpoint, name: "evil\n[00:00:00.000] spec s9 finished: artifact /etc/passwd\u{1b}[2J")
        defer { socket.close(); context.shutdown() }
        _ = try expectMessage(.welcome, on: socket)
        let log = try waitFor("joined from", in: "coordinator.log")
        XCTAssertFalse(log.split(separator: "\n").contains { $0.hasPrefix("[00:00:00.000]") }, log)
        XCTAssertFalse(log.contains("\u{1b}"), log)
        let status = try run(["status", "--coordinator", endpoint])
        XCTAssertTrue(status.output.contains("evil\\n[00:00:00.000]"), status.output)
    }

    func testAMovedStateDirectoryKeepsWorking() throws {
        let spec = try writeSpec("bagging", members: 2, epochs: 1)
        let endpoint = try startCoordinator()
        _ = try startWorker(endpoint, name: "w")
        XCTAssertEqual(try run(["submit", spec, "--coordinator", endpoint, "--remote-output", "kept.benn", "--wait"]).status, 0)
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() }
        try FileManager.default.moveItem(atPath: directory + "/state", toPath: directory + "/moved")
        try start(["coordinator", "--bind", "tcp://127.0.0.1:*", "--state", "moved"], log: "moved.log")
        let text = try waitFor("coordinator listening on ", in: "moved.log")
        let line = text.split(separator: "\n").first { $0.contains("coordinator listening on ") }!
        let again = String(line.split(separator: " ").first { $0.hasPrefix("tcp://") }!)
        let status = try run(["status", "--coordinator", again])
        XCTAssertTrue(status.output.contains("finished") && status.output.contains("moved/artifacts/kept.benn"), status.output)
        XCTAssertEqual(try run(["submit", spec, "--coordinator", again]).status, 0, "the moved coordinator takes new specs")
    }

    /// A full disk under the member files: the write is retried, status says which write
    /// failed and counts no member it has not stored, and the spec finishes once space returns.
    func testAFullDiskIsRetriedUntilSpaceReturns() throws {
        let members = directory + "/state/members"
        try FileManager.default.createDirectory(atPath: members, withIntermediateDirectories: true)
        guard sh("mount -t tmpfs -o size=16k tmpfs '\(members)' 2>/dev/null") == 0 else {
            throw XCTSkip("mounting a small tmpfs needs root (CI runs as root)")
        }
        defer { _ = sh("umount '\(members)'") }
        let spec = try writeSpec("single", members: 1, epochs: 1, model: "tinycnn")
        let endpoint = try startCoordinator()
        _ = try startWorker(endpoint, name: "w")
        XCTAssertEqual(try run(["submit", spec, "--coordinator", endpoint]).status, 0)
        let log = try waitFor("retrying in", in: "coordinator.log")
        XCTAssertTrue(log.contains("cannot store member 0"), log)
        let status = try run(["status", "--coordinator", endpoint])
        XCTAssertTrue(status.output.contains("members 0/1") && status.output.contains("write error (retrying)"), status.output)
        XCTAssertEqual(sh("mount -o remount,size=64m '\(members)'"), 0)
        try waitFor("finished: artifact", in: "coordinator.log", timeout: 120)
        let done = try run(["status", "--coordinator", endpoint])
        XCTAssertTrue(done.output.contains("members 1/1") && !done.output.contains("write error"), done.output)
    }

    /// A worker whose cache it cannot write, or that has almost no room, refuses to join
    /// rather than failing every job it would take (read-only and tiny tmpfs mounts).
    func testAWorkerWithAnUnusableCacheRefusesToJoin() throws {
        let readOnly = directory + "/ro-cache", tiny = directory + "/tiny-cache"
        for dir in [readOnly, tiny] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        guard sh("mount -t tmpfs -o size=1m,ro tmpfs '\(readOnly)' 2>/dev/null") == 0 else {
            throw XCTSkip("mounting a tmpfs needs root (CI runs as root)")
        }
        defer { _ = sh("umount '\(readOnly)'") }
        XCTAssertEqual(sh("mount -t tmpfs -o size=1m tmpfs '\(tiny)'"), 0)
        defer { _ = sh("umount '\(tiny)'") }
        let endpoint = try startCoordinator()
        for (cache, problem) in [(readOnly, "is not writable"), (tiny, "MiB free, at least 64 MiB needed")] {
            let r = try run(["worker", "--connect", endpoint, "--cache", cache, "--name", "broken"], timeout: 30)
            XCTAssertEqual(r.status, 1, r.output)
            XCTAssertTrue(r.output.contains(problem), r.output)
        }
        XCTAssertFalse(read("coordinator.log").contains("worker broken joined"), read("coordinator.log"))
    }
}

