import BennData
import Foundation

/// The files of a training spec's data, identified by the SHA-256 of their bytes, so a
/// worker can fetch and cache them without a shared file system and detect a wrong copy.
public struct DatasetManifest: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        /// Name the loader expects (e.g. `train-images-idx3-ubyte.gz`).
        public var name: String
        public var sha256: String
        public var size: Int
    }
    public var files: [File]
}

/// Coordinator side: the dataset files it can serve, by hash. Thread-safe: specs are
/// prepared off the event loop, which serves the chunks.
public final class DatasetServer: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [String: String] = [:]   // sha256 -> path
    private var cache: [String: [UInt8]] = [:]
    /// Manifests already computed, by directory, with the files' sizes and modification
    /// times they were computed from (a changed file is hashed again).
    private var manifests: [String: (stamp: [String], manifest: DatasetManifest)] = [:]

    public init() {}

    /// Registers the four IDX files of `directory` and returns their manifest.
    public func register(directory: String) throws -> DatasetManifest {
        try register(files: DataFormat.idx.files(directory: directory), directory: directory)
    }

    /// Registers the files a spec's data format reads (`TrainingData.files(spec:)`), named
    /// in the manifest by their file names, and returns their manifest. `directory` is the
    /// key the manifest is remembered by.
    public func register(files filePaths: [String], directory: String) throws -> DatasetManifest {
        let stamp = filePaths.map { path -> String in
            let a = try? FileManager.default.attributesOfItem(atPath: path)
            return "\(path) \((a?[.size] as? NSNumber)?.intValue ?? -1) \((a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1)"
        }
        lock.lock()
        let known = manifests[directory]
        lock.unlock()
        if let known, known.stamp == stamp { return known.manifest }
        var files: [DatasetManifest.File] = []
        var loaded: [(String, String, [UInt8])] = []
        for path in filePaths {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DatasetError.inconsistentData("cannot read \(path)")
            }
            let bytes = [UInt8](data)
            let hash = SHA256.hexDigest(bytes)
            loaded.append((hash, path, bytes))
            files.append(.init(name: (path as NSString).lastPathComponent, sha256: hash, size: bytes.count))
        }
        let manifest = DatasetManifest(files: files)
        lock.lock()
        for (hash, path, bytes) in loaded {
            paths[hash] = path
            cache[hash] = bytes
        }
        manifests[directory] = (stamp, manifest)
        lock.unlock()
        return manifest
    }

    /// Bytes `offset ..< offset+length` of the file with this hash, or nil if unknown.
    public func chunk(sha256: String, offset: Int, length: Int) -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        if cache[sha256] == nil, let p = paths[sha256], let d = FileManager.default.contents(atPath: p) { cache[sha256] = [UInt8](d) }
        guard let bytes = cache[sha256], offset >= 0, offset <= bytes.count, length >= 0 else { return nil }
        return Array(bytes[offset..<min(bytes.count, offset + min(length, Wire.chunkBytes))])
    }
}

/// Worker side: a directory of dataset files named by hash.
public struct DatasetCache: Sendable {
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Refuses a cache this worker cannot write, or with almost no room left: such a worker
    /// would join and then fail every job it takes.
    public func checkUsable(minimumFreeBytes: Int = 64 << 20) throws {
        let probe = directory + "/.write-probe-\(getpid())"
        guard FileManager.default.createFile(atPath: probe, contents: Data([0])) else {
            throw Message.Invalid(description: "the dataset cache \(directory) is not writable (\(String(cString: strerror(errno)))); give --cache a directory this user can write")
        }
        unlink(probe)
        if let free = JobLimits.freeDisk(directory), free < minimumFreeBytes {
            throw Message.Invalid(description: "the dataset cache \(directory) has \(free >> 20) MiB free, at least \(minimumFreeBytes >> 20) MiB needed")
        }
    }

    public static var defaultDirectory: String {
        let base = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")
        return base + "/benn/datasets"
    }

    /// The folder holding a manifest's files under their loader names.
    public func folder(for manifest: DatasetManifest) -> String {
        directory + "/" + SHA256.hexDigest(Array(manifest.files.map(\.sha256).joined(separator: ",").utf8)).prefix(24)
    }

    /// Whether every file of the manifest is present with the right hash.
    public func isComplete(_ manifest: DatasetManifest) -> Bool {
        manifest.files.allSatisfy { f in
            FileManager.default.fileExists(atPath: folder(for: manifest) + "/" + f.name)
        }
    }

    /// Stores a fetched file after checking its hash.
    public func store(_ bytes: [UInt8], as file: DatasetManifest.File, in manifest: DatasetManifest) throws {
        let actual = SHA256.hexDigest(bytes)
        guard actual == file.sha256, bytes.count == file.size else {
            throw DatasetError.inconsistentData("dataset file \(file.name): received \(bytes.count) bytes with SHA-256 \(actual.prefix(16))..., expected \(file.size) bytes with \(file.sha256.prefix(16))...")
        }
        let dir = folder(for: manifest)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = dir + "/." + file.name + ".part-\(getpid())"
        // Written from the array itself: a Data copy of a 26 MB file costs as much as the write.
        let written = bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return FileManager.default.createFile(atPath: tmp, contents: Data()) }
            return FileManager.default.createFile(atPath: tmp, contents: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: raw.count, deallocator: .none))
        }
        guard written, rename(tmp, dir + "/" + file.name) == 0 else {
            throw DatasetError.inconsistentData("cannot store dataset file in \(dir)")
        }
    }
}
