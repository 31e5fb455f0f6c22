import BennEnsemble
import BennTrain
import Foundation

/// The coordinator's durable record: an append-only file of JSON lines, fsync'd, plus
/// member tensors stored beside it. A coordinator started on the same state directory
/// replays it and continues where it stopped: finished members are not trained again.
///
/// Member results are journaled as deltas (`result`: the member's history, training-set
/// misses and file), not as the whole ensemble state: replaying applies them again, in
/// journal order, to the spec's initial state, which gives the same state (applying a
/// result is deterministic). Journals of older coordinators, whose `member` entries carry
/// the whole state, are still read.
public final class Journal {
    public enum Entry: Codable, Sendable, Equatable {
        /// A spec was accepted.
        case spec(id: String, spec: TrainingSpec, output: String?, submitted: String)
        /// Older journals: a member's result was applied; `state` is the spec's ensemble
        /// state after it. Still read, no longer written.
        case member(id: String, member: Int, file: String?, state: EnsembleState)
        /// A member's result was applied (accepted with its tensors in `file`, or rejected
        /// with no file). `trainingCount` and `classes` size the spec's initial state;
        /// `misses` (boosting) is `Journal.packMisses` of the training-set misses.
        case result(id: String, member: Int, file: String?, trainingCount: Int, classes: Int,
                    history: [EpochStats], seconds: Double, misses: String?)
        /// A job attempt was dispatched to a worker (`holder`, CoordinatorState.identity):
        /// after a restart only that worker may still deliver it.
        case dispatched(id: String, member: Int, job: String, holder: String)
        /// The artifact was written (its path relative to the state directory when inside it).
        case finished(id: String, artifact: String)
        /// The spec failed for good.
        case failed(id: String, reason: String)

        /// The entry's kind, for messages.
        var kind: String {
            switch self {
            case .spec: return "spec"
            case .member: return "member"
            case .result: return "result"
            case .dispatched: return "dispatch"
            case .finished: return "finished"
            case .failed: return "failure"
            }
        }
    }

    public let directory: String
    private let fd: Int32
    private let path: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/members", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/artifacts", withIntermediateDirectories: true)
        path = directory + "/journal.jsonl"
        // A torn last line (a crash mid-append; never acknowledged) is cut off, so the next
        // entry starts on a line of its own.
        if let data = FileManager.default.contents(atPath: path), let last = data.last, last != UInt8(ascii: "\n") {
            let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            guard truncate(path, off_t(keep)) == 0 else {
                throw Message.Invalid(description: "cannot cut the torn last entry of \(path): \(String(cString: strerror(errno)))")
            }
        }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw Message.Invalid(description: "cannot open the journal \(path) for writing: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// Reads every complete entry. A torn last line (a crash mid-write) is ignored.
    public func replay() throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var entries: [Entry] = []
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        let decoder = JSONDecoder()
        for (i, line) in lines.enumerated() {
            do {
                entries.append(try decoder.decode(Entry.self, from: Data(line)))
            } catch {
                if i == lines.count - 1 && data.last != UInt8(ascii: "\n") { break }
                throw Message.Invalid(description: "\(path): entry \(i + 1) is unreadable (\(error)); the journal is damaged")
            }
        }
        return entries
    }

    /// One entry as a journal line (JSON, sorted keys, newline-terminated).
    public static func line(_ entry: Entry) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var bytes = [UInt8](try encoder.encode(entry))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// Appends one entry and fsyncs.
    public func append(_ entry: Entry) throws { try append(lines: [Journal.line(entry)]) }

    /// Appends lines with one write and one fsync (group commit).
    public func append(lines: [[UInt8]]) throws {
        guard !lines.isEmpty else { return }
        let bytes = lines.count == 1 ? lines[0] : Array(lines.joined())
        // A failed write (a full disk) may leave part of a line: cut it off, so the entries
        // appended once space returns start on a line of their own.
        let end = lseek(fd, 0, SEEK_END)
        do {
            try Journal.writeAll(fd, bytes, path: path)
            guard fsync(fd) == 0 else { throw Message.Invalid(description: "cannot fsync \(path): \(String(cString: strerror(errno)))") }
        } catch {
            if end >= 0 { _ = ftruncate(fd, end) }
            throw error
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var written = 0
        try bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw Message.Invalid(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
                written += n
            }
        }
    }

    /// Writes a file so that it is complete on disk before this returns: a temporary file,
    /// fsync, rename over the target, fsync of the directory.
    public static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let staged = try stage(bytes, for: path)
        guard fsync(staged.fd) == 0 else {
            close(staged.fd); unlink(staged.temporary)
            throw Message.Invalid(description: "cannot fsync \(staged.temporary): \(String(cString: strerror(errno)))")
        }
        try commit(staged)
        try syncDirectory(of: path)
    }

    /// A file written under a temporary name, not yet fsync'd or renamed.
    struct Staged: @unchecked Sendable { var fd: Int32; var temporary: String; var path: String }

    static func stage(_ bytes: [UInt8], for path: String) throws -> Staged {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Message.Invalid(description: "cannot write \(tmp): \(String(cString: strerror(errno)))") }
        do { try writeAll(fd, bytes, path: tmp) } catch { close(fd); unlink(tmp); throw error }
        return Staged(fd: fd, temporary: tmp, path: path)
    }

    /// Closes a staged file (already fsync'd) and renames it into place.
    static func commit(_ s: Staged) throws {
        close(s.fd)
        guard rename(s.temporary, s.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(s.temporary)
            throw Message.Invalid(description: "cannot store \(s.path): \(reason)")
        }
    }

    /// fsyncs the directory holding `path`, so a rename into it survives a crash.
    static func syncDirectory(of path: String) throws {
        try syncDirectory(at: (path as NSString).deletingLastPathComponent)
    }

    static func syncDirectory(at dir: String) throws {
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw Message.Invalid(description: "cannot open \(dir): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Message.Invalid(description: "cannot fsync \(dir): \(String(cString: strerror(errno)))") }
    }

    /// Where a member's tensors are stored.
    public static func memberFileName(spec id: String, member: Int) -> String { "members/\(id)-m\(member).safetensors" }

    /// Training-set misses as base64 of a bit set (bit i of byte i/8 = sample i missed).
    public static func packMisses(_ misses: [Bool]) -> String {
        var bytes = [UInt8](repeating: 0, count: (misses.count + 7) / 8)
        for (i, m) in misses.enumerated() where m { bytes[i >> 3] |= 1 << UInt8(i & 7) }
        return Data(bytes).base64EncodedString()
    }

    /// The inverse of `packMisses` for `count` samples; nil if the text does not fit.
    public static func unpackMisses(_ text: String, count: Int) -> [Bool]? {
        guard let data = Data(base64Encoded: text), data.count == (count + 7) / 8 else { return nil }
        let bytes = [UInt8](data)
        return (0..<count).map { bytes[$0 >> 3] & (1 << UInt8($0 & 7)) != 0 }
    }
}

/// The coordinator's single writer thread: stores member files and appends journal entries
/// in submission order. Everything queued while it was busy is written as one group: the
/// member files are written, fsync'd concurrently (the file system commits them together)
/// and renamed, their directory is fsync'd once, then all journal lines are appended with
/// one fsync. Each task's completion runs after its data is durable.
final class JournalWriter: @unchecked Sendable {
    struct Task {
        /// Member tensors to store first (bytes, absolute path), if any.
        var file: ([UInt8], String)?
        var entry: Journal.Entry
        var done: @Sendable ((any Error)?) -> Void
    }

    private let journal: Journal
    private let condition = NSCondition()
    private var tasks: [Task] = []
    private var stopping = false
    private var thread: Thread?
    /// Concurrent fsyncs per group.
    static let fsyncWidth = 8

    init(journal: Journal) {
        self.journal = journal
        let t = Thread { [unowned self] in self.loop() }
        t.name = "benn.coordinator.writer"
        thread = t
        t.start()
    }

    func submit(_ task: Task) { submit([task]) }

    func submit(_ batch: [Task]) {
        condition.lock()
        if stopping {
            condition.unlock()
            for task in batch { task.done(Message.Invalid(description: "the journal writer has stopped")) }
            return
        }
        tasks += batch
        condition.signal()
        condition.unlock()
    }

    /// Queues an entry behind every earlier task and waits until it is durable.
    func sync(_ entry: Journal.Entry) throws {
        let semaphore = DispatchSemaphore(value: 0)
        let box = ErrorBox()
        submit(Task(file: nil, entry: entry) { error in box.error = error; semaphore.signal() })
        semaphore.wait()
        if let e = box.error { throw e }
    }

    /// Writes what is queued, then ends the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        while thread?.isFinished == false { Thread.sleep(forTimeInterval: 0.001) }
    }

    private func loop() {
        while true {
            condition.lock()
            while tasks.isEmpty && !stopping { condition.wait() }
            let batch = tasks
            tasks = []
            let stop = stopping
            condition.unlock()
            if !batch.isEmpty { write(batch) }
            if stop && batch.isEmpty { return }
        }
    }

    private func write(_ batch: [Task]) {
        var errors = [(any Error)?](repeating: nil, count: batch.count)
        // Member files: stage all, fsync them concurrently, rename, then one directory fsync.
        var staged: [(Int, Journal.Staged)] = []
        for (i, t) in batch.enumerated() {
            guard let (bytes, path) = t.file else { continue }
            do { staged.append((i, try Journal.stage(bytes, for: path))) } catch { errors[i] = error }
        }
        if !staged.isEmpty {
            let fds = staged.map(\.1.fd)
            let ok = JournalWriter.fsyncAll(fds)
            var directories = Set<String>()
            for (k, (i, s)) in staged.enumerated() {
                if !ok[k] {
                    close(s.fd); unlink(s.temporary)
                    errors[i] = Message.Invalid(description: "cannot fsync \(s.temporary)")
                    continue
                }
                do {
                    try Journal.commit(s)
                    directories.insert((s.path as NSString).deletingLastPathComponent)
                } catch { errors[i] = error }
            }
            for d in directories {
                do { try Journal.syncDirectory(at: d) } catch {
                    for (i, s) in staged where (s.path as NSString).deletingLastPathComponent == d { errors[i] = errors[i] ?? error }
                }
            }
        }
        // Journal lines of every task whose file (if any) is stored, one fsync.
        var lines: [[UInt8]] = []
        var included: [Int] = []
        for (i, t) in batch.enumerated() where errors[i] == nil {
            do { lines.append(try Journal.line(t.entry)); included.append(i) } catch { errors[i] = error }
        }
        do { try journal.append(lines: lines) } catch { for i in included { errors[i] = error } }
        for (i, t) in batch.enumerated() { t.done(errors[i]) }
    }

    /// fsyncs the descriptors, up to `fsyncWidth` at a time on helper threads.
    static func fsyncAll(_ fds: [Int32]) -> [Bool] {
        if fds.count == 1 { return [fsync(fds[0]) == 0] }
        let results = ResultBox(count: fds.count)
        let group = DispatchGroup()
        let width = min(fsyncWidth, fds.count)
        for lane in 0..<width {
            group.enter()
            let t = Thread {
                var i = lane
                while i < fds.count {
                    results.set(i, fsync(fds[i]) == 0)
                    i += width
                }
                group.leave()
            }
            t.start()
        }
        group.wait()
        return results.values
    }

    final class ErrorBox: @unchecked Sendable { var error: (any Error)? }

    final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var v: [Bool]
        init(count: Int) { v = [Bool](repeating: false, count: count) }
        func set(_ i: Int, _ ok: Bool) { lock.lock(); v[i] = ok; lock.unlock() }
        var values: [Bool] { lock.lock(); defer { lock.unlock() }; return v }
    }
}
