import XCTest
import BennCluster
import BennEnsemble
import BennTransport
import Foundation

/// Results are checked off the coordinator's event loop, after the worker already has its
/// next job: a result that fails the check must send its job back to the queue, and the
/// ensemble must still come out as the fault-free one.
final class ClusterVerificationTests: ClusterTestCase {

    /// The next message of one of `types`, answering heartbeats on the way.
    func expect(_ types: Set<MessageType>, on socket: ZMQSocket, timeout: Double = 30) throws -> Message {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let frames = try socket.receive(timeoutMilliseconds: 100) else { continue }
            let m = try Message.decode(frames)
            if m.type == .heartbeat {
                _ = try socket.send(Wire.Heartbeat(role: "worker").frames())
                continue
            }
            if types.contains(m.type) { return m }
        }
        XCTFail("no \(types.map(\.rawValue)) within \(timeout) s")
        throw XCTSkip("timed out")
    }

    /// A well-formed safetensors file whose stored checksum does not match its data: what a
    /// result corrupted in a worker's memory or on the way looks like.
    func corruptedTensors() -> [UInt8] {
        var header = Array(#"{"__metadata__":{"benn.checksum":"0123456789abcdef"},"w":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}}"#.utf8)
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = (0..<8).map { UInt8((header.count >> (8 * $0)) & 255) }
        out += header
        out += [0, 0, 128, 63, 0, 0, 0, 64]
        return out
    }

    func testResultFailingVerificationAfterEarlyDispatchGoesBackToTheQueue() throws {
        for strategy in ["bagging", "boosting"] {
            let spec = try writeSpec(strategy, name: "\(strategy).yaml")
            let expected = try reproducibleBytes(try inProcess(spec))
            let log = "coordinator-\(strategy).log"
            let endpoint = try startCoordinator(log: log, extra: ["--state", "state-\(strategy)"])
            let (context, socket) = try connect(endpoint, name: "mangler-\(strategy)")
            defer { socket.close(); context.shutdown() }
            _ = try expect([.welcome], on: socket)
            let submitted = try run(["submit", spec, "--coordinator", endpoint])
            XCTAssertEqual(submitted.status, 0, submitted.output)
            _ = try socket.send(Wire.Ready().frames())
            let job = try Wire.JobOffer(expect([.job], on: socket))
            let (jobID, specID, member) = (job.jobID, job.specID, job.job.member)
            // A corrupted result. Its RESULT also asks for the next job: no READY yet.
            _ = try socket.send(Wire.JobResult(jobID: jobID, specID: specID, member: member, history: .array([]), seconds: 0, tensors: corruptedTensors(),
                                               misses: strategy == "boosting" ? [UInt8](repeating: 0, count: 200) : nil).frames())
            // The worker gets its next job (bagging: another member, or the same one again if
            // the check already failed; boosting: nothing else is ready until the result is
            // refused, then member 0 again) and is told why its result was refused; the
            // result is never ACKed.
            var next: Message?
            var refusal: Message?
            while next == nil || refusal == nil {
                let m = try expect([.job, .error, .ack], on: socket)
                XCTAssertNotEqual(m.type, .ack, "a result that fails verification must not be acknowledged")
                if m.type == .job { next = m }
                if m.type == .error { refusal = m }
            }
            XCTAssertTrue(try Wire.Refusal(refusal!).reason.contains("checksum mismatch"), "\(refusal!.header)")
            if strategy == "boosting" {
                XCTAssertEqual(try Wire.JobOffer(next!).job.member, 0)
            }
            // The READY a worker sends with its RESULT is redundant: it must not take the new
            // job back. Then the job is handed back (BYE) and a real worker trains everything.
            let nextID = try Wire.JobOffer(next!).jobID
            _ = try socket.send(Wire.Ready().frames())
            _ = try socket.send(Wire.Bye(jobID: nextID).frames())
            let left = try waitFor("worker mangler-\(strategy) left", in: log)
            XCTAssertTrue(left.contains("job \(nextID) back in the queue: worker mangler-\(strategy) left"), left)
            XCTAssertFalse(left.contains("asked for new work"), left)
            _ = try startWorker(endpoint, name: "honest-\(strategy)")
            let text = try waitFor("finished: artifact", in: log, timeout: 120)
            XCTAssertTrue(text.contains("job \(jobID) back in the queue: its result failed verification"), text)
            XCTAssertFalse(text.contains("trained by mangler"), text)
            let line = text.split(separator: "\n").first { $0.contains("finished: artifact") }!
            XCTAssertTrue(try reproducibleBytes(String(line.split(separator: " ").last!)) == expected,
                           "\(strategy): the ensemble differs from the fault-free one")
            // The journal holds deltas, not whole states.
            let journal = read("state-\(strategy)/journal.jsonl")
            XCTAssertTrue(journal.contains(#"{"result":"#), journal)
            XCTAssertFalse(journal.contains(#""state":"#), journal)
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        }
    }

    /// A restarted coordinator rebuilds the state from delta entries and does not train
    /// the journaled members again.
    func testRestartFromDeltaJournalKeepsMembers() throws {
        // Members long enough (about a second) that member 2 is still training when the
        // coordinator is killed right after member 1 is stored.
        let spec = try writeSpec("bagging", members: 3, epochs: 200)
        let expected = try reproducibleBytes(try inProcess(spec))
        let endpoint = try startCoordinator(log: "first.log")
        let first = processes.last!
        let w = try startWorker(endpoint, name: "w")
        _ = try run(["submit", spec, "--coordinator", endpoint, "--remote-output", "out.benn"])
        try waitFor("member 1 of s1", in: "first.log")
        kill(w.processIdentifier, SIGKILL)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let stored = read("state/journal.jsonl").components(separatedBy: #"{"result":"#).count - 1
        XCTAssertEqual(stored, 2)
        let port = endpoint.split(separator: ":").last!
        try start(["coordinator", "--bind", "tcp://127.0.0.1:\(port)", "--state", "state", "--heartbeat-ms", "200"], log: "second.log")
        _ = try startWorker("tcp://127.0.0.1:\(port)", name: "w2")
        let log = try waitFor("finished: artifact", in: "second.log", timeout: 120)
        XCTAssertTrue(log.contains("\(stored) of 3 members already done"), log)
        XCTAssertEqual(log.components(separatedBy: "stored, trained by").count - 1, 3 - stored, log)
        XCTAssertTrue(try reproducibleBytes("state/artifacts/out.benn") == expected, "the artifact differs from in-process")
    }
}
