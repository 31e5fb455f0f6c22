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

/// Coordinator side: the dataset files it can serve, by hash.
public final class DatasetServer {
    private var paths: [String: String] = [:]   // sha256 -> path
    private var cache: [String: [UInt8]] = [:]

    public init() {}

    /// Registers the four IDX files of `directory` and returns their manifest.
    public func register(directory: String) throws -> DatasetManifest {
        var files: [DatasetManifest.File] = []
        for split in [FashionMNIST.Split.train, .test] {
            let (images, labels) = try FashionMNIST.files(directory: directory, split: split)
            for path in [images, labels] {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw DatasetError.inconsistentData("cannot read \(path)")
                }
                let bytes = [UInt8](data)
                let hash = SHA256.hexDigest(bytes)
                paths[hash] = path
                cache[hash] = bytes
                files.append(.init(name: (path as NSString).lastPathComponent, sha256: hash, size: bytes.count))
            }
        }
        return DatasetManifest(files: files)
    }

    /// Bytes `offset ..< offset+length` of the file with this hash, or nil if unknown.
    public func chunk(sha256: String, offset: Int, length: Int) -> [UInt8]? {
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
        FileManager.default.createFile(atPath: tmp, contents: Data(bytes))
        guard rename(tmp, dir + "/" + file.name) == 0 else {
            throw DatasetError.inconsistentData("cannot store dataset file in \(dir)")
        }
    }
}
