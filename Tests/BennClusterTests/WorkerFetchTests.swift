import XCTest
@testable import BennCluster
import BennCore
import BennData
import BennEnsemble
import BennTrain
import BennTransport
import Foundation

/// A real worker (on its own thread) against a coordinator played by a raw ROUTER socket,
/// so the test decides when each DATA chunk arrives and when the coordinator goes silent.
final class WorkerFetchTests: XCTestCase {
    final class Shared: @unchecked Sendable {
        private let lock = NSLock()
        private var stopped = false
        private var lines: [String] = []
        var shouldStop: Bool { lock.lock(); defer { lock.unlock() }; return stopped }
        func stop() { lock.lock(); stopped = true; lock.unlock() }
        func log(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
        var log: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    struct FakeCoordinator {
        let socket: ZMQSocket

        /// The next message of the given type (others, such as heartbeats, are skipped).
        func expect(_ type: MessageType, within seconds: Double = 10) throws -> (peer: [UInt8], message: Message) {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                guard let frames = try socket.receive(timeoutMilliseconds: 50) else { continue }
                let m = try Message.decode(Array(frames.dropFirst()))
                if m.type == type { return (frames[0], m) }
            }
            throw Missing(description: "no \(type.rawValue) within \(seconds) s")
        }

        /// The offsets of the next `count` FETCH_DATA requests, then of any more that arrive
        /// in the following `quiet` seconds (there should be none).
        func fetchOffsets(_ count: Int, quiet: Double = 0.3) throws -> [Int] {
            var offsets: [Int] = []
            while offsets.count < count { offsets.append(try expect(.fetchData).message.int("offset")) }
            let deadline = Date().addingTimeInterval(quiet)
            while Date() < deadline {
                guard let frames = try socket.receive(timeoutMilliseconds: 20) else { continue }
                let m = try Message.decode(Array(frames.dropFirst()))
                if m.type == .fetchData { offsets.append(try m.int("offset")) }
            }
            return offsets
        }

        /// HELLO, WELCOME (1 s heartbeats), READY: the worker's routing id.
        func handshake() throws -> [UInt8] {
            let (peer, _) = try expect(.hello)
            try send(peer, Wire.Welcome(heartbeatMilliseconds: 1000, liveness: 5).envelope)
            _ = try expect(.ready)
            return peer
        }

        func send(_ peer: [UInt8], _ m: Message) throws {
            _ = try socket.send([peer] + m.frames())
        }

        func job(dataset: DatasetManifest, member: Int = 0, batchSize: Int = 128) -> Message {
            var spec = TrainingSpec()
            spec.model = "tinymlp"
            spec.train.batchSize = batchSize
            spec.ensemble.members = max(1, member + 1)
            let job = EnsembleState(spec: spec, trainingCount: 64, classes: 10).job(member)
            return Message(.job, encodedFields: [
                ("job_id", JSONValue.string("s1/m\(member)/1").encoded()), ("spec_id", JSONValue.string("s1").encoded()),
                ("job", Wire.JobOffer.json(job, spec: JSONValue.from(spec).encoded())), ("dataset", JSONValue.from(dataset).encoded()),
                ("warm_start", JSONValue.bool(false).encoded()),
            ])
        }
    }

    func startWorker(_ endpoint: String, cache: String, shared: Shared) -> Thread {
        let thread = Thread {
            var config = WorkerConfig(endpoint: endpoint, name: "fetcher", threads: 1, cacheDirectory: cache)
            config.heartbeatMilliseconds = 100
            // A second of silence before reconnecting: the fake coordinator sends no heartbeats, and
            // its 0.3 s quiet checks (`fetchOffsets`) must not pass for a dead coordinator.
            config.liveness = 10
            guard let worker = try? Worker(config: config, log: { shared.log($0) }) else { return }
            try? worker.run(until: { shared.shouldStop })
        }
        thread.start()
        return thread
    }

    func makeCoordinator() throws -> (ZMQContext, FakeCoordinator, String) {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.setLinger(milliseconds: 0)
        try router.bind("tcp://127.0.0.1:*")
        return (context, FakeCoordinator(socket: router), try router.lastEndpoint())
    }

    func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("benn-fetch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testKeepsAWindowOfRequestsAndResumesAfterAReconnect() throws {
        let (context, coordinator, endpoint) = try makeCoordinator()
        defer { coordinator.socket.close(); context.shutdown() }
        let chunk = Wire.chunkBytes
        // Six full chunks and a short seventh.
        var state: UInt32 = 12345
        let bytes = (0..<(6 * chunk + 5)).map { _ -> UInt8 in state = state &* 1_664_525 &+ 1_013_904_223; return UInt8(state >> 24) }
        let digest = SHA256.hexDigest(bytes)
        let file = DatasetManifest.File(name: "train-images-idx3-ubyte.gz", sha256: digest, size: bytes.count)
        func data(_ offset: Int) -> Message {
            Wire.DataChunk(sha256: file.sha256, offset: offset, bytes: Array(bytes[offset..<min(bytes.count, offset + chunk)])).envelope
        }
        let shared = Shared()
        let cache = try temporaryDirectory()
        let thread = startWorker(endpoint, cache: cache, shared: shared)
        defer { shared.stop(); while !thread.isFinished { Thread.sleep(forTimeInterval: 0.01) } }

        var (peer, _) = try coordinator.expect(.hello)
        try coordinator.send(peer, Wire.Welcome(heartbeatMilliseconds: 100, liveness: 10).envelope)
        _ = try coordinator.expect(.ready)
        try coordinator.send(peer, coordinator.job(dataset: DatasetManifest(files: [file])))

        // Unanswered, the worker asks for exactly the window and waits.
        XCTAssertEqual(try coordinator.fetchOffsets(Wire.fetchWindow), (0..<Wire.fetchWindow).map { $0 * chunk })
        // Two answers let two more requests out, in order.
        try coordinator.send(peer, data(0))
        try coordinator.send(peer, data(chunk))
        XCTAssertEqual(try coordinator.fetchOffsets(2), [4 * chunk, 5 * chunk])

        // The coordinator goes silent; the worker reconnects (new connection, new routing id)
        // and, once welcomed, asks again from the first byte it lacks.
        peer = try coordinator.expect(.hello).peer
        try coordinator.send(peer, Wire.Welcome(heartbeatMilliseconds: 100, liveness: 10).envelope)
        XCTAssertEqual(try coordinator.fetchOffsets(4), [2 * chunk, 3 * chunk, 4 * chunk, 5 * chunk])
        for offset in stride(from: 2 * chunk, through: 5 * chunk, by: chunk) { try coordinator.send(peer, data(offset)) }
        XCTAssertEqual(try coordinator.fetchOffsets(1), [6 * chunk])
        try coordinator.send(peer, data(6 * chunk))

        // The whole file arrived intact and was cached under the manifest's folder.
        let deadline = Date().addingTimeInterval(10)
        while !shared.log.contains(where: { $0.hasPrefix("dataset fetched: \(bytes.count) bytes") }), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertTrue(shared.log.contains { $0.hasPrefix("dataset fetched: \(bytes.count) bytes") }, "\(shared.log)")
        let stored = try DatasetCache(directory: cache).folder(for: DatasetManifest(files: [file])) + "/" + file.name
        XCTAssertEqual(FileManager.default.contents(atPath: stored).map { [UInt8]($0) }, bytes)
    }

    func testARefusedChunkFailsTheJobAndTheWorkerAsksForMore() throws {
        let (context, coordinator, endpoint) = try makeCoordinator()
        defer { coordinator.socket.close(); context.shutdown() }
        let shared = Shared()
        let thread = startWorker(endpoint, cache: try temporaryDirectory(), shared: shared)
        defer { shared.stop(); while !thread.isFinished { Thread.sleep(forTimeInterval: 0.01) } }

        let peer = try coordinator.handshake()
        let file = DatasetManifest.File(name: "train-images-idx3-ubyte.gz", sha256: String(repeating: "ab", count: 32), size: 10)
        try coordinator.send(peer, coordinator.job(dataset: DatasetManifest(files: [file])))
        _ = try coordinator.expect(.fetchData)
        try coordinator.send(peer, Wire.Refusal(.invalid, "no dataset file with that hash", sha256: file.sha256).envelope)
        let failed = try coordinator.expect(.failed).message
        XCTAssertEqual(failed.optionalString("job_id"), "s1/m0/1")
        XCTAssertTrue(failed.optionalString("error")?.contains("cannot serve the dataset: no dataset file with that hash") == true, "\(failed.header)")
        _ = try coordinator.expect(.ready)
    }

    func testAJobForABusyWorkerIsRefusedAsBusyAndTheFirstGoesOn() throws {
        let (context, coordinator, endpoint) = try makeCoordinator()
        defer { coordinator.socket.close(); context.shutdown() }
        let shared = Shared()
        let thread = startWorker(endpoint, cache: try temporaryDirectory(), shared: shared)
        defer { shared.stop(); while !thread.isFinished { Thread.sleep(forTimeInterval: 0.01) } }

        let peer = try coordinator.handshake()
        let bytes = [UInt8](repeating: 1, count: 10)
        let file = DatasetManifest.File(name: "train-images-idx3-ubyte.gz", sha256: SHA256.hexDigest(bytes), size: bytes.count)
        try coordinator.send(peer, coordinator.job(dataset: DatasetManifest(files: [file])))
        XCTAssertEqual(try coordinator.expect(.fetchData).message.optionalString("sha256"), file.sha256)
        // A second JOB while the first is still fetching, as a restarted coordinator may send.
        try coordinator.send(peer, coordinator.job(dataset: DatasetManifest(files: [file]), member: 2))
        let refusal = try coordinator.expect(.failed).message
        XCTAssertEqual(refusal.optionalString("job_id"), "s1/m2/1")
        XCTAssertEqual(try refusal.int("member"), 2, "the refused job's member, read from inside the job")
        XCTAssertEqual(refusal.header["busy"], .bool(true))
        XCTAssertTrue(refusal.optionalString("error")?.contains("s1/m0/1") == true, "\(refusal.header)")
        // The first job is still the worker's: serving it a chunk is taken up.
        try coordinator.send(peer, Wire.DataChunk(sha256: file.sha256, offset: 0, bytes: bytes).envelope)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !shared.log.contains(where: { $0.contains("fetched train-images-idx3-ubyte.gz") }) {
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertTrue(shared.log.contains { $0.contains("fetched train-images-idx3-ubyte.gz") }, "\(shared.log)")
    }

    /// A coordinator (or a peer posing as one) that sends impossible sizes, a poisoned spec,
    /// a path outside the cache or a job that cannot be read: each is refused with FAILED,
    /// then READY, and the worker lives on to take the next job.
    func testImpossibleJobsAreRefusedAndTheWorkerAsksForMore() throws {
        let (context, coordinator, endpoint) = try makeCoordinator()
        defer { coordinator.socket.close(); context.shutdown() }
        let shared = Shared()
        let thread = startWorker(endpoint, cache: try temporaryDirectory(), shared: shared)
        defer { shared.stop(); while !thread.isFinished { Thread.sleep(forTimeInterval: 0.01) } }
        let peer = try coordinator.handshake()
        let hash = String(repeating: "ab", count: 32)
        let huge = DatasetManifest(files: [DatasetManifest.File(name: "train-images-idx3-ubyte.gz", sha256: hash, size: 1 << 62)])
        let small = DatasetManifest(files: [DatasetManifest.File(name: "train-images-idx3-ubyte.gz", sha256: hash, size: 10)])
        let traversal = DatasetManifest(files: [DatasetManifest.File(name: "../../escape", sha256: hash, size: 10)])
        var garbled = coordinator.job(dataset: small)
        garbled.encodedHeader = Array(#"{"job_id":"s1/m0/1","spec_id":"s1","job":{"member":"zero"},"dataset":{},"warm_start":false}"#.utf8)
        let cases: [(Message, String)] = [
            (coordinator.job(dataset: huge), "does not fit"),
            (coordinator.job(dataset: small, batchSize: 1 << 40), "batch"),
            (coordinator.job(dataset: traversal), "not a plain file name"),
            (garbled, "job"),
        ]
        for (job, reason) in cases {
            try coordinator.send(peer, job)
            guard let failed = try? coordinator.expect(.failed).message else { return XCTFail("\(reason): no FAILED; worker log: \(shared.log)") }
            XCTAssertTrue(try failed.string("error").contains(reason), "\(reason): \(failed.header)")
            _ = try coordinator.expect(.ready, within: 5)
        }
        XCTAssertFalse(thread.isFinished, "the worker is still running")
        XCTAssertFalse(shared.log.contains { $0.contains("fetched") })
    }
}
