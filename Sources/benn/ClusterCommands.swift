import ArgumentParser
import BennBench
import BennCluster
import BennOptions
import BennTrain
import BennTransport
import Foundation

/// Key files: `NAME.key` holds the secret key (mode 0600), `NAME.pub` the public key.
enum KeyFiles {
    static func readSecret(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read key file \(path)") }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard CurveKeyPair.isValidKey(key) else { throw ValidationError("\(path) does not hold a 40-character Z85 CURVE key") }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            Console.log("warning: secret key file \(path) is open to other users (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 \(path)")
        }
        return key
    }

    /// Public keys from files (one per line, or `.pub` files); lines starting with '#' are
    /// comments ('#' is also a Z85 character, so only a leading one counts).
    ///
    /// A secret key passed here is refused: it would match no peer, and allow lists and server
    /// keys get copied to other machines. Secret and public keys are both 40 Z85 characters, and
    /// any 32 bytes make a valid secret key, so the text alone cannot tell them apart; what
    /// proves a secret is a `.key` file name, or a key whose derived public key is present in
    /// the same stem's `.pub` file (`w.key` next to `w.pub`) or among the keys given.
    static func readPublicKeys(_ paths: [String]) throws -> Set<String> {
        var found: [(key: String, path: String)] = []
        for path in paths {
            guard !path.lowercased().hasSuffix(".key") else {
                throw ValidationError("\(path) is a secret key file; pass the public key file (.pub) instead")
            }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read key file \(path)") }
            for k in keyLines(text) {
                guard CurveKeyPair.isValidKey(k) else { throw ValidationError("\(path): '\(k.prefix(12))...' is not a Z85 CURVE public key") }
                found.append((k, path))
            }
        }
        var source = Dictionary(found.map { ($0.key, $0.path) }, uniquingKeysWith: { first, _ in first })
        for (key, path) in found {
            let sibling = (path as NSString).deletingPathExtension + ".pub"
            if let text = try? String(contentsOfFile: sibling, encoding: .utf8) {
                for k in keyLines(text) where source[k] == nil { source[k] = sibling }
            }
            if let owner = source[try CurveKeyPair.publicKey(fromSecret: key)] {
                throw ValidationError("\(path) holds a secret key (its public key is in \(owner)); pass the public key file (.pub) instead")
            }
        }
        return Set(found.map(\.key))
    }

    private static func keyLines(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// Whether anything, even a dangling symlink, is at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Creates `path` with `mode` from its first moment (umask can only narrow it) and writes
    /// `text`. O_EXCL refuses an existing file or symlink, so the bytes never go into a file
    /// someone else made or chose the mode of.
    static func create(_ path: String, _ text: String, mode: mode_t) throws {
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ValidationError("cannot create \(path): \(String(cString: strerror(errno)))") }
        var rest = Array(text.utf8)[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            rest = rest.dropFirst(n)
        }
        // fsync: a key pair replaced by rename must not turn into empty files on a crash.
        guard rest.isEmpty, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(path)
            throw ValidationError("cannot write \(path): \(reason)")
        }
        close(fd)
    }
}

/// Stops a long-running command on SIGINT/SIGTERM.
enum StopSignal {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0
    static func install() {
        signal(SIGINT) { _ in StopSignal.requested = 1 }
        signal(SIGTERM) { _ in StopSignal.requested = 1 }
    }
    static var isRequested: Bool { requested != 0 }
}

struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "coordinator", abstract: "Run a coordinator: accept specs, dispatch member jobs to workers, write artifacts.")

    @Option(help: "Endpoint to bind. Without keys the default is loopback only.") var bind: String = "tcp://127.0.0.1:5555"
    @Option(name: .customLong("state"), help: "State directory (journal, member tensors, artifacts).") var state: String = "benn-state"
    @Option(help: "Also submit this spec at start.") var spec: [String] = []
    @Option(name: .customLong("output"), help: "Artifact path for the --spec given at start.") var output: String?
    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat interval in milliseconds.") var heartbeatMs: Int = 1000
    @Option(help: "Silent heartbeat intervals before a worker is dropped.") var liveness: Int = 5
    @Option(name: .customLong("job-timeout"), help: "Seconds before a running job is dispatched again.") var jobTimeout: Double = 86400
    @Option(name: .customLong("max-attempts"), help: "Attempts per job before its spec fails.") var maxAttempts: Int = 3
    @Option(name: .customLong("quarantine-seconds"), help: "How long a worker gets no jobs after two failed in a row (doubling each time, at most 300 s; 0: never).")
    var quarantineSeconds: Double = 10
    @Option(name: .customLong("secret-key"), help: "The coordinator's secret key file (enables CURVE).") var secretKey: String?
    @Option(name: .customLong("allow"), help: "Public key file(s) of workers and clients to serve (with --secret-key).") var allow: [String] = []
    @Option(name: .customLong("allow-worker"), help: "Public key file(s) that may only act as workers.") var allowWorker: [String] = []
    @Option(name: .customLong("allow-client"), help: "Public key file(s) that may only act as clients (submit, status, artifacts).") var allowClient: [String] = []

    func run() throws {
        try reportingErrors {
            StopSignal.install()
            var config = CoordinatorConfig(bind: bind, stateDirectory: state)
            config.heartbeatMilliseconds = heartbeatMs
            config.liveness = liveness
            config.jobTimeoutSeconds = jobTimeout
            config.maxAttempts = maxAttempts
            guard quarantineSeconds >= 0, quarantineSeconds <= 300 else { throw ValidationError("--quarantine-seconds must be between 0 and 300, got \(quarantineSeconds)") }
            config.quarantineSeconds = quarantineSeconds
            config.bind = try Endpoint.bindable(bind)
            if let secretKey {
                config.curveSecretKey = try KeyFiles.readSecret(secretKey)
                config.allowedClientKeys = try KeyFiles.readPublicKeys(allow)
                config.workerOnlyKeys = try KeyFiles.readPublicKeys(allowWorker)
                config.clientOnlyKeys = try KeyFiles.readPublicKeys(allowClient)
                guard !config.allKeys.isEmpty else { throw ValidationError("--secret-key needs at least one --allow, --allow-worker or --allow-client key file: nobody could join") }
            } else if let flag = [("--allow", allow), ("--allow-worker", allowWorker), ("--allow-client", allowClient)].first(where: { !$0.1.isEmpty })?.0 {
                throw ValidationError("\(flag) needs --secret-key: without the coordinator's secret key there is no encryption and no allow list")
            } else if !Endpoint.isLocalOnly(bind) {
                Console.log("warning: binding \(bind) without keys: traffic is unencrypted and anyone who can reach it can join (see benn keygen)")
            } else {
                Console.log("no keys configured: serving loopback only (\(bind)); use --bind and benn keygen to serve other hosts")
            }
            _ = try Runtime.configure(threads: 1)
            let coordinator = try Coordinator(config: config, log: { Console.log(timestamped($0)) })
            for path in spec {
                let s = try SpecParser.load(path: path)
                try coordinator.submitOnce(s, output: output)
            }
            coordinator.run { StopSignal.isRequested }
            Console.log("coordinator stopped")
        }
    }
}

func timestamped(_ s: String) -> String {
    let f = DateFormatter()
    f.dateFormat = "HH:mm:ss.SSS"
    return "[\(f.string(from: Date()))] \(s)"
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "Join a coordinator and train the member jobs it hands out.")

    @Option(help: "The coordinator's endpoint, e.g. tcp://10.0.0.1:5555.") var connect: String
    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }
    @Option(help: "A name for logs and status (default: host-pid).") var name: String?
    @Option(name: .customLong("cache"), help: "Dataset cache directory.") var cache: String?
    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat interval in milliseconds.") var heartbeatMs: Int = 1000
    @Option(help: "Silent heartbeat intervals before the coordinator is considered gone.") var liveness: Int = 5
    @Option(name: .customLong("secret-key"), help: "This worker's secret key file (enables CURVE).") var secretKey: String?
    @Option(name: .customLong("server-key"), help: "The coordinator's public key file.") var serverKey: String?

    func run() throws {
        try reportingErrors {
            StopSignal.install()
            let t = try Runtime.configure(threads: threads)
            var config = WorkerConfig(endpoint: connect, name: name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())",
                                      threads: t, cacheDirectory: cache ?? DatasetCache.defaultDirectory)
            config.heartbeatMilliseconds = heartbeatMs
            config.liveness = liveness
            if let secretKey {
                guard let serverKey else { throw ValidationError("--secret-key needs --server-key (the coordinator's public key)") }
                config.curveSecretKey = try KeyFiles.readSecret(secretKey)
                config.serverPublicKey = try KeyFiles.readPublicKeys([serverKey]).first
            }
            let worker = try Worker(config: config, log: { Console.log(timestamped($0)) })
            try worker.run { StopSignal.isRequested }
        }
    }
}

struct ClientOptions: ParsableArguments {
    @Option(help: "The coordinator's endpoint.") var coordinator: String = "tcp://127.0.0.1:5555"
    @Option(name: .customLong("secret-key"), help: "This client's secret key file (with a CURVE coordinator).") var secretKey: String?
    @Option(name: .customLong("server-key"), help: "The coordinator's public key file.") var serverKey: String?

    func client() throws -> ClusterClient {
        var secret: String?, server: String?
        if let secretKey {
            guard let serverKey else { throw ValidationError("--secret-key needs --server-key") }
            secret = try KeyFiles.readSecret(secretKey)
            server = try KeyFiles.readPublicKeys([serverKey]).first
        }
        return try ClusterClient(endpoint: coordinator, curveSecretKey: secret, serverPublicKey: server)
    }
}

struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a spec to a coordinator; optionally wait and download the artifact.")
    @Argument(help: "A spec file: TOML if it ends in .toml, YAML otherwise.") var spec: String
    @OptionGroup var options: ClientOptions
    @Option(name: .customLong("remote-output"), help: "Artifact file name in the coordinator's state directory (artifacts/NAME).") var remoteOutput: String?
    @Flag(help: "Wait until the spec is finished.") var wait = false
    @Option(name: [.short, .long], help: "With --wait: download the artifact here.") var output: String?

    func run() throws {
        try reportingErrors {
            let s = try SpecParser.load(path: spec)
            let client = try options.client()
            let id = try client.submit(s, output: remoteOutput)
            FileHandle.standardOutput.write(Data((id + "\n").utf8))
            guard wait || output != nil else { return }
            var last = ""
            var silentSince: Date?
            while true {
                // A coordinator restarting (it continues the spec from its journal) does not
                // answer for a while: keep asking, as workers do, and say so once.
                let status: ClusterStatus
                do {
                    status = try client.status(timeoutSeconds: 5)
                    silentSince = nil
                } catch let failure as ClusterClient.Failure where failure.isTimeout {
                    if silentSince == nil { Console.log("\(id): the coordinator does not answer; still waiting"); silentSince = Date() }
                    continue
                }
                guard let mine = status.specs.first(where: { $0.id == id }) else { throw ValidationError("the coordinator no longer knows spec \(id)") }
                let line = "\(id): \(mine.state), members \(mine.membersDone)/\(mine.members)"
                if line != last { Console.log(line); last = line }
                if mine.state == "failed" { throw ValidationError("spec \(id) failed: \(mine.error ?? "unknown error")") }
                if mine.state == "finished" { break }
                Thread.sleep(forTimeInterval: 0.5)
            }
            if let output {
                let bytes = try client.artifact(id: id)
                try Data(bytes).write(to: URL(fileURLWithPath: output), options: .atomic)
                Console.log("artifact written to \(output) (\(bytes.count) bytes)")
            }
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a coordinator's specs, jobs and workers.")
    @OptionGroup var options: ClientOptions
    @Flag(help: "Print the raw JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let status = try options.client().status()
            if json { print(String(decoding: Wire.StatusReply(status).envelope.frames()[2], as: UTF8.self)); return }
            print("specs:")
            for s in status.specs {
                var line = "  \(s.id)  \(s.model) \(s.strategy)  \(s.state)  members \(s.membersDone)/\(s.members)"
                if !s.running.isEmpty { line += "  running: \(s.running.map(String.init).joined(separator: ","))" }
                if let a = s.artifact { line += "  artifact: \(a)" }
                if let e = s.error { line += "  error: \(e)" }
                if let e = s.writeError { line += "  write error (retrying): \(e)" }
                print(line)
            }
            print("workers:")
            for w in status.workers {
                print("  \(w.name)  host \(w.host)  cores \(w.cores)  threads \(w.threads)  kernels \(w.kernel)  job \(w.job ?? "-")  \(w.progress)  last heartbeat \(w.lastHeartbeatMsAgo) ms ago")
            }
        }
    }
}

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make a CURVE key pair: NAME.key (secret, mode 0600) and NAME.pub.")
    @Argument(help: "Path prefix, e.g. keys/coordinator.") var name: String
    @Flag(help: "Replace an existing NAME.key and NAME.pub.") var force = false

    func run() throws {
        try reportingErrors {
            let secretPath = name + ".key", publicPath = name + ".pub"
            if !force {
                // Overwriting a secret key locks out every peer that trusts its public key.
                for path in [secretPath, publicPath] where KeyFiles.exists(path) {
                    throw ValidationError("\(path) already exists; pass --force to replace the key pair")
                }
            }
            let pair = try CurveKeyPair.generate()
            let dir = (name as NSString).deletingLastPathComponent
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            let files = [(secretPath, pair.secretKey + "\n", mode_t(0o600)), (publicPath, pair.publicKey + "\n", mode_t(0o644))]
            if force {
                // Both new files are complete before either replaces an old one, so a failed
                // write leaves the old pair rather than a mismatched one.
                var staged: [(String, String)] = []
                do {
                    for (path, text, mode) in files {
                        let temporary = "\(path).new-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                        try KeyFiles.create(temporary, text, mode: mode)
                        staged.append((temporary, path))
                    }
                    for (temporary, path) in staged where rename(temporary, path) != 0 {
                        throw ValidationError("cannot replace \(path): \(String(cString: strerror(errno)))")
                    }
                } catch {
                    for (temporary, _) in staged { unlink(temporary) }
                    throw error
                }
            } else {
                try KeyFiles.create(secretPath, files[0].1, mode: files[0].2)
                do { try KeyFiles.create(publicPath, files[1].1, mode: files[1].2) } catch { unlink(secretPath); throw error }
            }
            print("secret key: \(name).key")
            print("public key: \(name).pub (\(pair.publicKey))")
        }
    }
}
