#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Fashion-MNIST (and MNIST, which uses the same file names and layout): locating and
/// loading the four IDX files of a data set directory.
public enum FashionMNIST {
    /// Which half of the data set.
    public enum Split: String, Sendable, CaseIterable {
        /// 60,000 training images (`train-*` files).
        case train
        /// 10,000 test images (`t10k-*` files).
        case test

        /// The file name prefix: `train` or `t10k`.
        public var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// Where Debian's `dataset-fashion-mnist` package installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// The ten class names, indexed by label.
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Class names for MNIST digits ("0" ... "9").
    public static let digitClassNames = (0..<10).map { String($0) }

    /// The file names accepted for one file of a split, in the order they are tried:
    /// e.g. `train-images-idx3-ubyte.gz`, `train-images-idx3-ubyte`,
    /// `train-images.idx3-ubyte.gz`, `train-images.idx3-ubyte`.
    public static func candidateNames(split: Split, kind: IDXKind) -> [String] {
        let stem = kind == .images ? "\(split.filePrefix)-images" : "\(split.filePrefix)-labels"
        let type = kind == .images ? "idx3-ubyte" : "idx1-ubyte"
        return ["\(stem)-\(type).gz", "\(stem)-\(type)", "\(stem).\(type).gz", "\(stem).\(type)"]
    }

    /// The paths of the image and label files of `split` in `directory`.
    ///
    /// - Throws: `IDXError.datasetFileMissing` listing every path tried.
    public static func files(directory: String, split: Split) throws -> (images: String, labels: String) {
        func find(_ kind: IDXKind) throws -> String {
            let base = directory.hasSuffix("/") ? directory : directory + "/"
            let tried = candidateNames(split: split, kind: kind).map { base + $0 }
            if let found = tried.first(where: { access($0, F_OK) == 0 }) { return found }
            throw IDXError.datasetFileMissing(
                directory: directory, file: "\(split.rawValue) \(kind == .images ? "image" : "label")", tried: tried)
        }
        return (try find(.images), try find(.labels))
    }

    /// Loads one split from `directory` (gzip-compressed or raw files).
    ///
    /// - Throws: `IDXError` (see `LabeledImages.load(images:labels:classNames:)`), or
    ///   `.datasetFileMissing` when a file is not there under any accepted name.
    public static func load(
        directory: String = defaultDirectory, split: Split, classNames: [String] = FashionMNIST.classNames
    ) throws -> LabeledImages {
        let paths = try files(directory: directory, split: split)
        return try LabeledImages.load(images: paths.images, labels: paths.labels, classNames: classNames)
    }
}
