import BennEnsemble
import BennTrain
import Foundation

/// The coordinator's durable record: an append-only file of JSON lines, fsync'd after each
/// entry, plus member tensors stored beside it. A coordinator started on the same state
/// directory replays it and continues where it stopped: finished members are not trained
/// again.
public final class Journal {
    public enum Entry: Codable, Sendable {
        /// A spec was accepted.
        case spec(id: String, spec: TrainingSpec, output: String?, submitted: String)
        /// A member's result was applied; `state` is the spec's ensemble state after it.
        case member(id: String, member: Int, file: String?, state: EnsembleState)
        /// The artifact was written.
        case finished(id: String, artifact: String)
        /// The spec failed for good.
        case failed(id: String, reason: String)
    }

    public let directory: String
    private let handle: FileHandle
    private let path: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/members", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/artifacts", withIntermediateDirectories: true)
        path = directory + "/journal.jsonl"
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw Message.Invalid(description: "cannot open the journal \(path) for writing")
        }
        handle = h
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    /// Reads every complete entry. A torn last line (a crash mid-write) is ignored.
    public func replay() throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var entries: [Entry] = []
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        for (i, line) in lines.enumerated() {
            do {
                entries.append(try JSONDecoder().decode(Entry.self, from: Data(line)))
            } catch {
                if i == lines.count - 1 && data.last != UInt8(ascii: "\n") { break }
                throw Message.Invalid(description: "\(path): entry \(i + 1) is unreadable (\(error)); the journal is damaged")
            }
        }
        return entries
    }

    public func append(_ entry: Entry) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = try encoder.encode(entry)
        data.append(UInt8(ascii: "\n"))
        handle.write(data)
        try handle.synchronize()
    }

    /// Writes a file so that it is complete on disk before this returns: a temporary file,
    /// fsync, then rename over the target.
    public static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Message.Invalid(description: "cannot write \(tmp): \(String(cString: strerror(errno)))") }
        var written = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw Message.Invalid(description: "cannot store \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Where a member's tensors are stored.
    public func memberFile(spec id: String, member: Int) -> String { "members/\(id)-m\(member).safetensors" }
}
