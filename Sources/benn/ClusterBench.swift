import ArgumentParser
import BennCluster
import BennData
import BennEnsemble
import BennTensor
import BennTrain
import BennTransport
import Dispatch
import Foundation

/// Cluster figures: scaling with real workers, coordinator dispatch latency, and many
/// simulated protocol-only workers.
struct BenchCluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Scaling 1 vs 2 workers, dispatch latency, and N simulated workers against a real coordinator process.")

    @Option(help: "Comma-separated simulated worker counts (0: skip).") var simulated: String = "100,1000"
    @Option(name: .customLong("simulated-jobs"), help: "Jobs per simulated run.") var simulatedJobs: Int = 400
    @Flag(name: .customLong("skip-scaling")) var skipScaling = false
    @Option(name: .customLong("scaling-limit"), help: "Training samples per member in the scaling run.") var scalingLimit: Int = 12000
    @Option(help: "Write the figures as JSON here.") var report: String?

    struct ScalingResult: Codable { var workers: Int; var threadsPerWorker: Int; var seconds: Double; var dispatchMedianMs: Double?; var dispatchP99Ms: Double? }
    struct SimulatedResult: Codable { var workers: Int; var jobs: Int; var seconds: Double; var jobsPerSecond: Double; var coordinatorCPUPercent: Double; var dispatchMedianMs: Double?; var dispatchP99Ms: Double? }
    struct Report: Codable { var scaling: [ScalingResult]; var scalingRatio: Double?; var simulated: [SimulatedResult] }

    func run() throws {
        try reportingErrors {
            let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("benn-bench-cluster-\(getpid())").path
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            var rep = Report(scaling: [], scalingRatio: nil, simulated: [])
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
                for (workers, threads) in [(1, 2), (2, 1)] {
                    let r = try scalingRun(exe: exe, dir: work + "/scaling-\(workers)", workers: workers, threads: threads)
                    rep.scaling.append(r)
                    print("scaling: \(workers) worker(s) x \(threads) thread(s): \(Console.fixed(r.seconds, 1)) s, dispatch latency median \(Console.fixed(r.dispatchMedianMs ?? .nan, 2)) ms")
                }
                rep.scalingRatio = rep.scaling[0].seconds / rep.scaling[1].seconds
                print("scaling ratio (1 worker / 2 workers wall time): \(Console.fixed(rep.scalingRatio!, 2))x")
            }
            for n in simulated.split(separator: ",").compactMap({ Int($0) }) where n > 0 {
                // At least two jobs per worker, so every worker's result-to-next-job time is seen.
                let r = try simulatedRun(exe: exe, dir: work + "/sim-\(n)", workers: n, jobs: max(simulatedJobs, 2 * n))
                rep.simulated.append(r)
                print("simulated: \(n) workers, \(r.jobs) jobs in \(Console.fixed(r.seconds, 2)) s (\(Int(r.jobsPerSecond)) jobs/s), coordinator CPU \(Console.fixed(r.coordinatorCPUPercent, 1))%, dispatch latency median \(Console.fixed(r.dispatchMedianMs ?? .nan, 2)) ms, p99 \(Console.fixed(r.dispatchP99Ms ?? .nan, 2)) ms")
            }
            if let report {
                try writeJSONReport(rep, to: report)
            }
        }
    }

    func spawn(_ exe: String, _ args: [String], log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        FileManager.default.createFile(atPath: log, contents: nil)
        let h = FileHandle(forWritingAtPath: log)!
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
        throw ValidationError("the coordinator did not start (see \(log))")
    }

    func latencies(_ client: ClusterClient) throws -> (Double?, Double?) {
        let s = try client.status()
        guard case let .object(o)? = s["dispatch_latency_ms"] else { return (nil, nil) }
        func num(_ v: JSONValue?) -> Double? {
            switch v {
            case let .number(n)?: return n
            case let .int(i)?: return Double(i)
            default: return nil
            }
        }
        return (num(o["median"]), num(o["p99"]))
    }

    func scalingRun(exe: String, dir: String, workers: Int, threads: Int) throws -> ScalingResult {
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
        let id = try client.submit(try SpecParser.load(path: (dir as NSString).deletingLastPathComponent + "/scaling.yaml"), output: nil)
        while true {
            let s = try client.status()
            if case let .array(specs)? = s["specs"], specs.contains(where: {
                if case let .object(o) = $0, o["id"] == .string(id), o["state"] == .string("finished") { return true }
                if case let .object(o) = $0, o["id"] == .string(id), o["state"] == .string("failed") { return true }
                return false
            }) { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let seconds = Date().timeIntervalSince(start)
        let (median, p99) = try latencies(client)
        return ScalingResult(workers: workers, threadsPerWorker: threads, seconds: seconds, dispatchMedianMs: median, dispatchP99Ms: p99)
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
        let images = try FashionMNIST.load(directory: dir + "/data", split: .train)
        let data = try EnsembleData.make(spec: spec, trainImages: images, testImages: nil)
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
            _ = try s.send(Message(.hello, ["name": .string("sim\(i)"), "host": .string("sim"), "cores": .integer(1), "threads": .integer(1), "kernel": .string("none")]).frames())
            sockets.append(s)
        }
        let client = try ClusterClient(endpoint: ep)
        Thread.sleep(forTimeInterval: 0.5)
        let cpuBefore = cpuSeconds(coordinator.processIdentifier)
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
                    case .welcome, .ack: _ = try sockets[i].send(Message(.ready).frames())
                    case .job:
                        let job = try m.decodeField("job", as: MemberJob.self)
                        _ = try sockets[i].send(Message(.result, ["job_id": .string(try m.string("job_id")), "spec_id": .string(try m.string("spec_id")),
                                                                  "member": .integer(job.member), "history": history, "seconds": .number(0)],
                                                        payloads: [tensorBytes]).frames())
                    default: break
                    }
                }
            }
            if Date().timeIntervalSince(lastHeartbeat) > 1 {
                lastHeartbeat = Date()
                for s in sockets { _ = try s.send(Message(.heartbeat, ["role": .string("worker")]).frames(), dontWait: true) }
            }
            if Date().timeIntervalSince(lastStatus) > 0.25 {
                lastStatus = Date()
                if case let .array(specs)? = try client.status()["specs"] {
                    let finished = specs.filter {
                        if case let .object(o) = $0, case let .string(id)? = o["id"], ids.contains(id),
                           o["state"] == .string("finished") || o["state"] == .string("failed") { return true }
                        return false
                    }
                    done = finished.count == ids.count
                }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let cpu = cpuSeconds(coordinator.processIdentifier) - cpuBefore
        let (median, p99) = try latencies(client)
        for s in sockets { s.close() }
        return SimulatedResult(workers: n, jobs: specCount * 10, seconds: seconds, jobsPerSecond: Double(specCount * 10) / seconds,
                               coordinatorCPUPercent: 100 * cpu / seconds, dispatchMedianMs: median, dispatchP99Ms: p99)
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
