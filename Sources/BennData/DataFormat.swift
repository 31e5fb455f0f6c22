import Foundation

/// The layout of a data set's files, chosen by a spec's `data.format` or guessed from the
/// files of its `data.directory`.
public enum DataFormat: String, Sendable, CaseIterable, Codable {
    /// Four IDX files, MNIST/Fashion-MNIST names (gzip-compressed or raw).
    case idx
    /// CIFAR-10 binary batches: `data_batch_1.bin` ... and `test_batch.bin`.
    case cifar10
    /// CIFAR-100 binary: `train.bin` and `test.bin`.
    case cifar100
    /// One `.npz` with `x_train`, `y_train`, `x_test`, `y_test`.
    case npz
    /// Four `.npy` files `x_train.npy`, `y_train.npy`, `x_test.npy`, `y_test.npy`.
    case npy

    /// The format of `directory`, from its files: IDX names, `data_batch_1.bin`,
    /// `train.bin` with `test.bin`, `x_train.npy`, a `.npz` (or `directory` naming an `.npz`).
    ///
    /// A missing directory, or one with no format's files, is taken for IDX, whose error
    /// lists every file name it tried (as before formats were guessed).
    ///
    /// - Throws: `DataFileError` when files of two formats are there.
    public static func guess(directory: String) throws -> DataFormat {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else { return .idx }
        if !isDirectory.boolValue {
            if directory.hasSuffix(".npz") { return .npz }
            throw DataFileError(path: directory, reason: "not a directory nor an .npz file; set data.format to read it")
        }
        let names = Set((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        var found: [DataFormat] = []
        if (try? FashionMNIST.files(directory: directory, split: .train)) != nil { found.append(.idx) }
        if names.contains("data_batch_1.bin") { found.append(.cifar10) }
        if names.contains("train.bin") && names.contains("test.bin") { found.append(.cifar100) }
        if names.contains { $0.hasSuffix(".npz") } { found.append(.npz) }
        if names.contains("x_train.npy") { found.append(.npy) }
        guard let first = found.first else { return .idx }
        guard found.count == 1 else {
            throw DataFileError(path: directory, reason: "files of several formats (\(found.map(\.rawValue).joined(separator: ", "))); set data.format")
        }
        return first
    }

    /// Every file this format reads from `directory` (including optional class-name files
    /// that are present), so that they can be shipped to where the data is loaded.
    public func files(directory: String) throws -> [String] {
        switch self {
        case .idx:
            return try [FashionMNIST.Split.train, .test].flatMap { split -> [String] in
                let f = try FashionMNIST.files(directory: directory, split: split)
                return [f.images, f.labels]
            }
        case .cifar10: return try CIFAR.cifar10Files(directory: directory)
        case .cifar100: return try CIFAR.cifar100Files(directory: directory)
        case .npz: return [try NumPy.npzFile(directory: directory)]
        case .npy: return try NumPy.npyFiles(directory: directory)
        }
    }

    /// Loads the training and test splits of `directory` in this format (`labels` chooses
    /// CIFAR-100's fine or coarse labels; the other formats ignore it).
    public func load(directory: String, labels: CIFAR.Labels = .fine) throws -> (train: LabeledImages, test: LabeledImages) {
        switch self {
        case .idx:
            return (try FashionMNIST.load(directory: directory, split: .train), try FashionMNIST.load(directory: directory, split: .test))
        case .cifar10: return try CIFAR.loadCIFAR10(directory: directory)
        case .cifar100: return try CIFAR.loadCIFAR100(directory: directory, labels: labels)
        case .npz: return try NumPy.loadNPZ(directory: directory)
        case .npy: return try NumPy.loadNPY(directory: directory)
        }
    }
}
