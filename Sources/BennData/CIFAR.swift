#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// CIFAR-10 and CIFAR-100 in their binary versions (`cifar-10-batches-bin`,
/// `cifar-100-binary`): 32x32 colour images stored as records of label byte(s) then 3072
/// bytes of planes (1024 red, 1024 green, 1024 blue, each row-major), converted here to HWC.
public enum CIFAR {
    /// Image side and channels of every CIFAR image.
    public static let side = 32, channels = 3
    /// Bytes of one image's pixels.
    public static let imageBytes = side * side * channels

    /// Which labels a CIFAR-100 record gives the model.
    public enum Labels: String, Sendable, CaseIterable, Codable {
        /// The 100 classes.
        case fine
        /// The 20 superclasses.
        case coarse
    }

    /// The ten CIFAR-10 class names, as in `batches.meta.txt`.
    public static let cifar10ClassNames = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]

    /// The CIFAR-100 fine class names, as in `fine_label_names.txt`.
    public static let cifar100FineClassNames = [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
        "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    ]

    /// The CIFAR-100 coarse class (superclass) names, as in `coarse_label_names.txt`.
    public static let cifar100CoarseClassNames = [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
        "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
        "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
        "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
        "vehicles_1", "vehicles_2",
    ]

    /// The CIFAR-10 training batches of `directory`: `data_batch_1.bin`, `data_batch_2.bin`,
    /// ... as long as they follow each other (the published set has five).
    ///
    /// - Throws: `DataFileError` when `data_batch_1.bin` is missing.
    public static func cifar10TrainingFiles(directory: String) throws -> [String] {
        var files: [String] = []
        while exists(path(directory, "data_batch_\(files.count + 1).bin")) {
            files.append(path(directory, "data_batch_\(files.count + 1).bin"))
        }
        guard !files.isEmpty else {
            throw DataFileError(path: directory, reason: "no CIFAR-10 training batch (data_batch_1.bin) in the directory")
        }
        return files
    }

    /// Every file the CIFAR-10 reader reads in `directory`: the training batches, the test
    /// batch and, when present, `batches.meta.txt`.
    public static func cifar10Files(directory: String) throws -> [String] {
        let test = try required(directory, "test_batch.bin", "CIFAR-10 test batch")
        let meta = path(directory, "batches.meta.txt")
        return try cifar10TrainingFiles(directory: directory) + [test] + (exists(meta) ? [meta] : [])
    }

    /// Every file the CIFAR-100 reader reads in `directory`: `train.bin`, `test.bin` and the
    /// label-name files present.
    public static func cifar100Files(directory: String) throws -> [String] {
        let train = try required(directory, "train.bin", "CIFAR-100 training file")
        let test = try required(directory, "test.bin", "CIFAR-100 test file")
        let names = ["fine_label_names.txt", "coarse_label_names.txt"].map { path(directory, $0) }.filter(exists)
        return [train, test] + names
    }

    /// Loads CIFAR-10's training batches and test batch from `directory`.
    ///
    /// - Throws: `DataFileError` naming the file: missing, a size that is not a whole number
    ///   of 3073-byte records (a truncated batch), a label out of range, a bad meta file; or
    ///   `IDXError.unreadable` for a file that cannot be read.
    public static func loadCIFAR10(directory: String) throws -> (train: LabeledImages, test: LabeledImages) {
        let meta = path(directory, "batches.meta.txt")
        let names = exists(meta) ? try classNames(meta, count: 10) : cifar10ClassNames
        let train = try cifar10TrainingFiles(directory: directory)
        let test = try required(directory, "test_batch.bin", "CIFAR-10 test batch")
        return (try read(train, labelBytes: 1, labelIndex: 0, classNames: names),
                try read([test], labelBytes: 1, labelIndex: 0, classNames: names))
    }

    /// Loads CIFAR-100's `train.bin` and `test.bin` from `directory`, with its fine or
    /// coarse labels.
    ///
    /// - Throws: as `loadCIFAR10`, for 3074-byte records.
    public static func loadCIFAR100(directory: String, labels: Labels) throws -> (train: LabeledImages, test: LabeledImages) {
        let namesFile = path(directory, "\(labels.rawValue)_label_names.txt")
        let defaults = labels == .fine ? cifar100FineClassNames : cifar100CoarseClassNames
        let names = exists(namesFile) ? try classNames(namesFile, count: defaults.count) : defaults
        let train = try required(directory, "train.bin", "CIFAR-100 training file")
        let test = try required(directory, "test.bin", "CIFAR-100 test file")
        let index = labels == .coarse ? 0 : 1
        return (try read([train], labelBytes: 2, labelIndex: index, classNames: names),
                try read([test], labelBytes: 2, labelIndex: index, classNames: names))
    }

    /// Reads the records of `files` into one set: `labelBytes` label bytes (the label used
    /// at `labelIndex`), then the CHW planes, converted to HWC.
    static func read(_ files: [String], labelBytes: Int, labelIndex: Int, classNames: [String]) throws -> LabeledImages {
        let record = labelBytes + imageBytes
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        let plane = side * side
        for file in files {
            let bytes = try FileReading.readAll(file)
            guard !bytes.isEmpty else { throw DataFileError(path: file, reason: "empty file: no \(record)-byte records") }
            guard bytes.count % record == 0 else {
                throw DataFileError(
                    path: file, reason: "truncated batch file: \(bytes.count) bytes is \(bytes.count / record) whole "
                        + "\(record)-byte records and \(bytes.count % record) bytes over")
            }
            let count = bytes.count / record
            pixels.reserveCapacity(pixels.count + count * imageBytes)
            labels.reserveCapacity(labels.count + count)
            bytes.withUnsafeBufferPointer { src in
                for r in 0..<count {
                    let base = r * record + labelBytes
                    for p in 0..<plane {
                        pixels.append(src[base + p])
                        pixels.append(src[base + plane + p])
                        pixels.append(src[base + 2 * plane + p])
                    }
                }
            }
            for r in 0..<count {
                let label = bytes[r * record + labelIndex]
                guard Int(label) < classNames.count else {
                    let which = labelBytes == 2 ? (labelIndex == 0 ? "coarse label" : "fine label") : "label"
                    throw DataFileError(path: file, reason: "\(which) \(label) of record \(r) is out of range 0..<\(classNames.count)")
                }
                labels.append(label)
            }
        }
        return try LabeledImages(height: side, width: side, channels: channels, pixels: pixels, labels: labels, classNames: classNames)
    }

    /// The class names of a label-name file: one a line, blank lines left out (CIFAR's own
    /// files end with blank lines); there must be `count`.
    static func classNames(_ file: String, count: Int) throws -> [String] {
        let bytes = try FileReading.readAll(file)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DataFileError(path: file, reason: "class names are not UTF-8 text")
        }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        guard names.count == count else {
            throw DataFileError(path: file, reason: "\(names.count) class names, expected \(count) (one a line)")
        }
        return names
    }

    static func path(_ directory: String, _ name: String) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + name
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func required(_ directory: String, _ name: String, _ what: String) throws -> String {
        let p = path(directory, name)
        guard exists(p) else { throw DataFileError(path: p, reason: "file not found (the \(what))") }
        return p
    }
}

extension Substring {
    /// Without leading and trailing spaces, tabs and carriage returns.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
