import BennTrain
import Foundation

/// What a worker checks in a JOB before it allocates anything for it: a coordinator (or a
/// peer posing as one) must not make a worker abort on an impossible allocation or write
/// outside its cache. A job that fails a check is refused with FAILED.
enum JobLimits {
    /// Files a dataset manifest may list.
    static let maxFiles = 64

    static func check(_ offer: Wire.JobOffer, cache: DatasetCache) throws {
        do { try offer.job.spec.validate() } catch { throw Message.Invalid(description: "the job's spec is refused: \(error)") }
        let files = offer.dataset.files
        guard (1...maxFiles).contains(files.count) else {
            throw Message.Invalid(description: "the dataset manifest lists \(files.count) files (1 to \(maxFiles) accepted)")
        }
        let hex = Set("0123456789abcdef")
        var missing = 0
        for f in files {
            guard CoordinatorState.isPlainFileName(f.name) else {
                throw Message.Invalid(description: "dataset file name '\(Sanitized.text(f.name, limit: 64))' is not a plain file name")
            }
            guard f.sha256.count == 64, f.sha256.allSatisfy(hex.contains) else {
                throw Message.Invalid(description: "dataset file \(f.name): '\(Sanitized.text(f.sha256, limit: 16))' is not a SHA-256 in hex")
            }
            guard f.size >= 0 else { throw Message.Invalid(description: "dataset file \(f.name) has a negative size") }
            if !FileManager.default.fileExists(atPath: cache.folder(for: offer.dataset) + "/" + f.name) { missing += f.size }
        }
        // A file is received whole in memory before it is checked and stored.
        let largest = files.map(\.size).max() ?? 0
        if let memory = availableMemory(), largest > memory / 2 {
            throw Message.Invalid(description: "dataset file of \(largest) bytes does not fit in this worker's free memory (\(memory) bytes)")
        }
        if let disk = freeDisk(cache.directory), missing > disk {
            throw Message.Invalid(description: "the dataset (\(missing) bytes to fetch) does not fit on the disk of \(cache.directory) (\(disk) bytes free)")
        }
    }

    /// MemAvailable from /proc/meminfo, in bytes.
    static func availableMemory() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    static func freeDisk(_ path: String) -> Int? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int(s.f_bavail) * Int(s.f_frsize)
    }
}
