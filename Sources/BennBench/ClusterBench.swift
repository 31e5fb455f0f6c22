import ArgumentParser
import BennCluster
import BennCore
import BennData
import BennEnsemble
import BennOptions
import BennTensor
import BennTrain
import BennTransport
import Dispatch
import Foundation

/// Cluster figures: scaling with real workers, coordinator dispatch latency, and many
/// simulated protocol-only workers.
///
/// The settings are the flags of `benn bench cluster` (but `--cluster-binary`, which says
/// which executable `run(executable:)` starts).
public struct ClusterBench: ParsableArguments {
    @Option(help: "Comma-separated simulated worker counts (0: skip).") public var simulated: String = "100,1000"
    @Option(name: .customLong("simulated-jobs"), help: "Jobs per simulated run.") public var simulatedJobs: Int = 400
    @Flag(name: .customLong("simulated-ready-after-ack"),
          help: "Simulated workers ask for their next job only when their result is ACKed (older workers did), instead of with the result.")
    public var readyAfterAck = false
    @Flag(name: .customLong("skip-scaling")) public var skipScaling = false
    @Option(name: .customLong("scaling-limit"), help: "Training samples per member in the scaling run (full-size members by default; fewer make the fixed per-spec work dominate).") public var scalingLimit: Int = 60000
    @Option(name: .customLong("scaling-runs"), help: "Comma-separated WORKERSxTHREADS cluster runs of the scaling spec.")
    public var scalingRuns: String = "1x2,2x1,1x1"
    @Flag(name: .customLong("skip-ceiling"), help: "Skip timing one member in-process with 1 and 2 threads.") public var skipCeiling = false
    @Option(name: .customLong("latency-members"),
            help: "Members of the dispatch-latency run (bmlp results of 40 MB, short training; 0: skip).")
    public var latencyMembers: Int = 16
    @Option(name: .customLong("latency-runs"), help: "Comma-separated WORKERSxTHREADS runs of the latency spec.")
    public var latencyRuns: String = "1x2,2x1"
    @Option(name: .customLong("transfer-runs"),
            help: "Fresh workers fetching the Fashion-MNIST files from a coordinator (a new cluster each), timed from their logs and set against raw libzmq on loopback (0: skip).")
    public var transferRuns: Int = 3

    public init() {}

    public struct ScalingResult: Codable {
        var workers: Int; var threadsPerWorker: Int; var seconds: Double
        /// Result taken off the socket to the worker's next job leaving.
        var dispatchCount: Int?; var dispatchMedianMs: Double?; var dispatchP99Ms: Double?
        /// Taking a result (40 MB) off the socket, before it is handled.
        var receiveMedianMs: Double?; var receiveP99Ms: Double?
    }
    public struct SimulatedResult: Codable {
        var workers: Int; var jobs: Int; var readyAfterAck: Bool; var seconds: Double; var jobsPerSecond: Double
        /// The coordinator process (all its threads), and its event loop thread alone per job.
        var coordinatorCPUPercent: Double; var eventLoopCPUPerJobMs: Double?
        var dispatchMedianMs: Double?; var dispatchP99Ms: Double?
    }
    /// One member trained in-process with 1 and 2 threads (median seconds): the 2-thread
    /// speedup bounds what 2 one-thread workers can gain over 1 two-thread worker.
    public struct Ceiling: Codable { var oneThreadSeconds: Double; var twoThreadSeconds: Double; var threadSpeedup: Double; var workersOverThreadsCeiling: Double }
    public struct Report: Codable {
        var scaling: [ScalingResult]
        /// 1 worker x 2 threads over 2 workers x 1 thread (same cores).
        var scalingRatio: Double?
        /// 1 worker x 1 thread over 2 workers x 1 thread (one more worker).
        var workerScalingRatio: Double?
        var ceiling: Ceiling?
        /// Many short bmlp members: enough results for a median and a p99 of the dispatch latency.
        var latency: [ScalingResult]
        var simulated: [SimulatedResult]
        var transfer: TransferBench.Report?
    }

    /// Runs every part not skipped, with coordinators and workers from the benn executable
    /// at `exe`, printing each figure; returns them.
    public func run(executable exe: String) throws -> Report {
        do {
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("benn-bench-cluster-\(getpid())").path
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            var rep = Report(scaling: [], scalingRatio: nil, workerScalingRatio: nil, ceiling: nil, latency: [], simulated: [], transfer: nil)
            func parse(_ runs: String, _ option: String) throws -> [(Int, Int)] {
                try runs.split(separator: ",").map { run in
                    let parts = run.split(separator: "x").compactMap { Int($0) }
                    guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { throw BenchError("\(option): '\(run)' is not WORKERSxTHREADS") }
                    return (parts[0], parts[1])
                }
            }
            func describe(_ r: ScalingResult) -> String {
                "dispatch latency (\(r.dispatchCount ?? 0) results) median \(Console.fixed(r.dispatchMedianMs ?? .nan, 2)) ms, p99 \(Console.fixed(r.dispatchP99Ms ?? .nan, 2)) ms; taking a result off the socket median \(Console.fixed(r.receiveMedianMs ?? .nan, 2)) ms, p99 \(Console.fixed(r.receiveP99Ms ?? .nan, 2)) ms"
            }
            if latencyMembers > 0 {
                let spec = """
                model: bmlp
                seed: 3
                data:
                  limit: 1024
                  test_limit: 200
                train:
                  epochs: 1
                ensemble:
                  strategy: bagging
                  members: \(latencyMembers)
                """
                try spec.write(toFile: work + "/latency.yaml", atomically: true, encoding: .utf8)
                for (workers, threads) in try parse(latencyRuns, "--latency-runs") {
                    let r = try scalingRun(exe: exe, dir: work + "/latency-\(workers)x\(threads)", spec: work + "/latency.yaml", workers: workers, threads: threads)
                    rep.latency.append(r)
                    print("latency: \(latencyMembers) bmlp members, \(workers) worker(s) x \(threads) thread(s): \(describe(r))")
                }
            }
            if !skipScaling {
                let spec = """
                model: bmlp
                seed: 1
                data:
                  limit: \(scalingLimit)
                  test_limit: 1000
                train:
                  epochs: 1
                ensemble:
                  strategy: bagging
                  members: 4
                """
                try spec.write(toFile: work + "/scaling.yaml", atomically: true, encoding: .utf8)
                for (workers, threads) in try parse(scalingRuns, "--scaling-runs") {
                    let r = try scalingRun(exe: exe, dir: work + "/scaling-\(workers)x\(threads)", spec: work + "/scaling.yaml", workers: workers, threads: threads)
                    rep.scaling.append(r)
                    print("scaling: \(workers) worker(s) x \(threads) thread(s): \(Console.fixed(r.seconds, 1)) s; \(describe(r))")
                }
                func seconds(_ w: Int, _ t: Int) -> Double? { rep.scaling.first { $0.workers == w && $0.threadsPerWorker == t }?.seconds }
                if let a = seconds(1, 2), let b = seconds(2, 1) {
                    rep.scalingRatio = a / b
                    print("scaling ratio, same cores (1 worker x 2 threads / 2 workers x 1 thread, wall time): \(Console.fixed(a / b, 2))x")
                }
                if let a = seconds(1, 1), let b = seconds(2, 1) {
                    rep.workerScalingRatio = a / b
                    print("scaling ratio, one more worker (1 worker x 1 thread / 2 workers x 1 thread, wall time): \(Console.fixed(a / b, 2))x")
                }
                if !skipCeiling {
                    let c = try ceiling(specPath: work + "/scaling.yaml")
                    rep.ceiling = c
                    print("in-process, one member: 1 thread \(Console.fixed(c.oneThreadSeconds, 2)) s, 2 threads \(Console.fixed(c.twoThreadSeconds, 2)) s (\(Console.fixed(c.threadSpeedup, 2))x); ceiling of 2 workers x 1 thread over 1 worker x 2 threads: \(Console.fixed(c.workersOverThreadsCeiling, 2))x")
                }
            }
            for n in simulated.split(separator: ",").compactMap({ Int($0) }) where n > 0 {
                // At least two jobs per worker, so every worker's result-to-next-job time is seen.
                let r = try simulatedRun(exe: exe, dir: work + "/sim-\(n)", workers: n, jobs: max(simulatedJobs, 2 * n))
                rep.simulated.append(r)
                print("simulated: \(n) workers (READY \(readyAfterAck ? "after the ACK" : "with the RESULT")), \(r.jobs) jobs in \(Console.fixed(r.seconds, 2)) s (\(Int(r.jobsPerSecond)) jobs/s), coordinator CPU \(Console.fixed(r.coordinatorCPUPercent, 1))% (event loop \(Console.fixed(r.eventLoopCPUPerJobMs ?? .nan, 3)) ms per job), dispatch latency median \(Console.fixed(r.dispatchMedianMs ?? .nan, 2)) ms, p99 \(Console.fixed(r.dispatchP99Ms ?? .nan, 2)) ms")
            }
            if transferRuns > 0 {
                rep.transfer = try transferRun(exe: exe, dir: work + "/transfer")
            }
            return rep
        }
    }

    func spawn(_ exe: String, _ args: [String], log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        try Data().write(to: URL(fileURLWithPath: log))
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = h
        p.standardError = h
        try p.run()
        return p
    }

    func endpoint(fromLog log: String) throws -> String {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.contains("coordinator listening on ") }),
               let ep = line.split(separator: " ").first(where: { $0.hasPrefix("tcp://") }) {
                return String(ep)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw BenchError("the coordinator did not start (see \(log))")
    }

    /// (count, median, p99) of one of the coordinator's timing series in `status`.
    func timing(_ client: ClusterClient, _ series: KeyPath<ClusterStatus, ClusterStatus.Latency>) throws -> (Int?, Double?, Double?) {
        let latency = try client.status()[keyPath: series]
        return (latency.count, latency.median, latency.p99)
    }

    func scalingRun(exe: String, dir: String, spec: String, workers: Int, threads: Int) throws -> ScalingResult {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let coordinator = try spawn(exe, ["coordinator", "--bind", "tcp://127.0.0.1:*", "--state", dir + "/state"], log: dir + "/coordinator.log")
        var procs = [coordinator]
        defer { for p in procs where p.isRunning { p.terminate() }; for p in procs { p.waitUntilExit() } }
        let ep = try endpoint(fromLog: dir + "/coordinator.log")
        for w in 0..<workers {
            procs.append(try spawn(exe, ["worker", "--connect", ep, "--threads", String(threads), "--name", "w\(w)", "--cache", dir + "/cache"], log: dir + "/w\(w).log"))
        }
        Thread.sleep(forTimeInterval: 0.5)
        let client = try ClusterClient(endpoint: ep)
        let start = Date()
        let id = try client.submit(try SpecParser.load(path: spec), output: nil)
        while true {
            if try client.status().specs.contains(where: { $0.id == id && ($0.state == "finished" || $0.state == "failed") }) { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let seconds = Date().timeIntervalSince(start)
        let (count, median, p99) = try timing(client, \.dispatchLatencyMs)
        let (_, receiveMedian, receiveP99) = try timing(client, \.largeReceiveMs)
        return ScalingResult(workers: workers, threadsPerWorker: threads, seconds: seconds, dispatchCount: count, dispatchMedianMs: median, dispatchP99Ms: p99,
                             receiveMedianMs: receiveMedian, receiveP99Ms: receiveP99)
    }

    /// `transferRuns` fresh workers each fetch the dataset of a one-member spec; then raw
    /// libzmq moves the same number of bytes, streamed and with the fetch window.
    func transferRun(exe: String, dir: String) throws -> TransferBench.Report {
        let spec = dir + "/transfer.yaml"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "model: bmlp\nseed: 2\ndata:\n  limit: 256\n  test_limit: 100\ntrain:\n  epochs: 1\nensemble:\n  strategy: bagging\n  members: 1\n"
            .write(toFile: spec, atomically: true, encoding: .utf8)
        var runs: [TransferBench.Run] = []
        for k in 0..<transferRuns {
            let runDir = dir + "/run-\(k)"
            _ = try scalingRun(exe: exe, dir: runDir, spec: spec, workers: 1, threads: 1)
            guard let text = try? String(contentsOfFile: runDir + "/w0.log", encoding: .utf8), let run = TransferBench.fetchFromLog(text) else {
                throw BenchError("no dataset fetch in the worker log \(runDir)/w0.log")
            }
            runs.append(run)
            print("transfer: a new worker fetched \(run.bytes) bytes in \(Int((run.seconds * 1000).rounded())) ms (\(Int(run.megabytesPerSecond.rounded())) MB/s)")
        }
        let total = runs[0].bytes
        var raw: [TransferBench.Raw] = []
        for (pattern, window) in [("stream", nil), ("window \(Wire.fetchWindow)", Wire.fetchWindow), ("window 1", 1)] as [(String, Int?)] {
            // Best of 3: the ceiling, not a typical run.
            let best = try (0..<3).map { _ in try TransferBench.rawThroughput(total: total, window: window) }.max()!
            raw.append(.init(pattern: pattern, megabytesPerSecond: best))
            print("transfer: raw libzmq, \(total) bytes in \(Wire.chunkBytes >> 20) MiB messages over loopback TCP, \(pattern): \(Int(best.rounded())) MB/s")
        }
        let median = Self.median(runs.map(\.megabytesPerSecond))
        let ceiling = raw.map(\.megabytesPerSecond).max()!
        print("transfer: median \(Int(median.rounded())) MB/s, \(Console.fixed(100 * median / ceiling, 1))% of raw libzmq's best (\(Int(ceiling.rounded())) MB/s)")
        return .init(runs: runs, medianMegabytesPerSecond: median, raw: raw, fractionOfRaw: median / ceiling)
    }

    /// Trains members 0 and 1 of the scaling spec in-process, alternating 1 and 2 threads,
    /// and takes the median time per thread count (data loading excluded).
    func ceiling(specPath: String) throws -> Ceiling {
        let spec = try SpecParser.load(path: specPath)
        let (images, data) = try TrainingData.prepare(spec: spec)
        let state = EnsembleState(spec: spec, trainingCount: data.training.count, classes: images.train.classCount)
        var times: [Int: [Double]] = [1: [], 2: []]
        let saved = Parallelism.threads
        defer { Parallelism.threads = saved }
        for member in 0..<2 {
            for threads in member == 0 ? [1, 2] : [2, 1] {
                Parallelism.threads = threads
                let start = Date()
                _ = try MemberTrainer.train(state.job(member), data: data)
                times[threads]!.append(Date().timeIntervalSince(start))
            }
        }
        let t1 = Self.median(times[1]!), t2 = Self.median(times[2]!)
        return Ceiling(oneThreadSeconds: t1, twoThreadSeconds: t2, threadSpeedup: t1 / t2, workersOverThreadsCeiling: 2 * t2 / t1)
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// CPU seconds the coordinator's event loop thread has used (from `status`).
    func eventLoopCPU(_ client: ClusterClient) throws -> Double? {
        try client.status().eventLoopCpuS
    }

    /// CPU seconds (user + system) a process has used, from /proc.
    func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func simulatedRun(exe: String, dir: String, workers n: Int, jobs: Int) throws -> SimulatedResult {
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        try SyntheticData.write(to: dir + "/data", trainCount: 64, testCount: 16)
        // One real member result, replayed by every simulated worker for every job.
        var spec = TrainingSpec()
        spec.model = "tinymlp"
        spec.data.directory = dir + "/data"
        spec.train.epochs = 1
        spec.train.batchSize = 16
        spec.ensemble.strategy = .bagging
        // Many specs of 10 members each, queued at once: realistic ensemble sizes.
        spec.ensemble.members = 10
        let specCount = max(1, jobs / 10)
        let images = try TrainingData.load(spec: spec).train
        let data = try TrainingData.make(spec: spec, trainImages: images, testImages: nil)
        let member = try MemberTrainer.train(EnsembleState(spec: spec, trainingCount: data.training.count, classes: 10).job(0), data: data)
        var tensorFile = SafeTensors()
        for (k, v) in member.tensors { tensorFile.set(k, v) }
        let tensorBytes = tensorFile.encoded()
        let history = JSONValue.from(member.history)

        let coordinator = try spawn(exe, ["coordinator", "--bind", "tcp://127.0.0.1:*", "--state", dir + "/state", "--heartbeat-ms", "1000", "--liveness", "10"],
                                    log: dir + "/coordinator.log")
        defer { if coordinator.isRunning { coordinator.terminate() }; coordinator.waitUntilExit() }
        let ep = try endpoint(fromLog: dir + "/coordinator.log")
        let context = try ZMQContext()
        try context.setMaxSockets(n + 64)
        var sockets: [ZMQSocket] = []
        for i in 0..<n {
            let s = try ZMQSocket(context: context, type: .dealer)
            try s.setLinger(milliseconds: 0)
            try s.connect(ep)
            _ = try s.send(Wire.Hello(name: "sim\(i)", host: "sim", cores: 1, threads: 1, kernel: "none").frames())
            sockets.append(s)
        }
        let client = try ClusterClient(endpoint: ep)
        Thread.sleep(forTimeInterval: 0.5)
        let cpuBefore = cpuSeconds(coordinator.processIdentifier)
        let loopBefore = try eventLoopCPU(client)
        let start = Date()
        var ids = Set<String>()
        for k in 0..<specCount {
            var s = spec
            s.seed = UInt64(k)
            ids.insert(try client.submit(s, output: "out-\(k).benn"))
        }
        let poller = ZMQPoller()
        for s in sockets { _ = poller.add(s) }
        var lastHeartbeat = Date()
        var done = false
        var lastStatus = Date()
        while !done {
            let events = try poller.poll(timeoutMilliseconds: 10)
            for (i, e) in events.enumerated() where e.contains(.readable) {
                while let frames = try sockets[i].receive(timeoutMilliseconds: 0) {
                    guard let m = try? Message.decode(frames) else { continue }
                    switch m.type {
                    case .welcome: _ = try sockets[i].send(Wire.Ready().frames())
                    case .ack: if readyAfterAck { _ = try sockets[i].send(Wire.Ready().frames()) }
                    case .job:
                        guard let offer = try? Wire.JobOffer(m) else { continue }
                        _ = try sockets[i].send(Wire.JobResult(jobID: offer.jobID, specID: offer.specID, member: offer.job.member,
                                                               history: history, seconds: 0, tensors: tensorBytes).frames())
                        // Like a real worker: the next job is asked for with the result.
                        if !readyAfterAck { _ = try sockets[i].send(Wire.Ready().frames()) }
                    default: break
                    }
                }
            }
            if Date().timeIntervalSince(lastHeartbeat) > 1 {
                lastHeartbeat = Date()
                for s in sockets { _ = try s.send(Wire.Heartbeat(role: "worker").frames(), dontWait: true) }
            }
            if Date().timeIntervalSince(lastStatus) > 0.25 {
                lastStatus = Date()
                done = try client.status().specs.filter { ids.contains($0.id) && ($0.state == "finished" || $0.state == "failed") }.count == ids.count
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let cpu = cpuSeconds(coordinator.processIdentifier) - cpuBefore
        let (_, median, p99) = try timing(client, \.dispatchLatencyMs)
        let loopCPU = try eventLoopCPU(client).flatMap { after in loopBefore.map { (after - $0) * 1000 / Double(specCount * 10) } }
        for s in sockets { s.close() }
        return SimulatedResult(workers: n, jobs: specCount * 10, readyAfterAck: readyAfterAck, seconds: seconds, jobsPerSecond: Double(specCount * 10) / seconds,
                               coordinatorCPUPercent: 100 * cpu / seconds, eventLoopCPUPerJobMs: loopCPU, dispatchMedianMs: median, dispatchP99Ms: p99)
    }
}

/// Small synthetic IDX files (8x8 images, the class drawn as a bright row).
enum SyntheticData {
    static func write(to dir: String, trainCount: Int, testCount: Int) throws {
        func idx(_ magic: UInt32, _ dims: [Int], _ payload: [UInt8]) -> Data {
            var b: [UInt8] = [0, 0, UInt8((magic >> 8) & 255), UInt8(magic & 255)]
            for d in dims { b += [UInt8(d >> 24), UInt8((d >> 16) & 255), UInt8((d >> 8) & 255), UInt8(d & 255)] }
            return Data(b + payload)
        }
        for (prefix, count) in [("train", trainCount), ("t10k", testCount)] {
            var pixels = [UInt8](), labels = [UInt8]()
            for i in 0..<count {
                let l = (i * 7) % 8
                labels.append(UInt8(l))
                var img = [UInt8](repeating: 20, count: 64)
                for x in 0..<8 { img[l * 8 + x] = 255 }
                pixels += img
            }
            try idx(0x803, [count, 8, 8], pixels).write(to: URL(fileURLWithPath: "\(dir)/\(prefix)-images-idx3-ubyte"))
            try idx(0x801, [count], labels).write(to: URL(fileURLWithPath: "\(dir)/\(prefix)-labels-idx1-ubyte"))
        }
    }
}
