import BennRandom

/// A set of 8-bit images (any height, width and channel count) with one class label each,
/// held in memory.
///
/// `pixels` holds the images one after another, each row-major with the channels of a pixel
/// interleaved (HWC, `height * width * channels` bytes); `labels[i]` is the class of image
/// `i`, below `classCount`.
public struct LabeledImages: Sendable, Equatable {
    /// Number of images.
    public let count: Int
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int
    /// Channels per pixel: 1 for grey images (IDX), 3 for colour (CIFAR).
    public let channels: Int
    /// All pixels, `count * height * width * channels` bytes, image after image, HWC.
    public let pixels: [UInt8]
    /// One label per image, each in `0..<classCount`.
    public let labels: [UInt8]
    /// Human-readable class names; `classNames[label]` names a label.
    public let classNames: [String]

    /// Number of classes (the number of class names).
    public var classCount: Int { classNames.count }
    /// The input shape of a model built for these images: height x width x channels.
    public var imageShape: [Int] { [height, width, channels] }

    /// Bytes per image: `height * width * channels`.
    public var pixelsPerImage: Int { height * width * channels }

    /// Makes a set from arrays, checking that they agree.
    ///
    /// - Throws: `DatasetError.inconsistentData` if sizes disagree or a label is out of range.
    public init(height: Int, width: Int, channels: Int = 1, pixels: [UInt8], labels: [UInt8], classNames: [String]) throws {
        guard height > 0, width > 0 else {
            throw DatasetError.inconsistentData("image size \(height)x\(width) must be positive")
        }
        guard channels > 0 else {
            throw DatasetError.inconsistentData("channel count \(channels) must be positive")
        }
        guard !classNames.isEmpty, classNames.count <= 256 else {
            throw DatasetError.inconsistentData("there must be 1...256 class names, got \(classNames.count)")
        }
        let perImage = height * width * channels
        guard pixels.count == labels.count * perImage else {
            let shape = channels == 1 ? "\(height)x\(width)" : "\(height)x\(width)x\(channels)"
            throw DatasetError.inconsistentData(
                "\(labels.count) labels need \(labels.count * perImage) pixels "
                    + "(\(shape) each), got \(pixels.count)")
        }
        if let bad = labels.firstIndex(where: { Int($0) >= classNames.count }) {
            throw DatasetError.inconsistentData(
                "label \(labels[bad]) at index \(bad) is out of range 0..<\(classNames.count)")
        }
        (self.count, self.height, self.width, self.channels, self.pixels, self.labels, self.classNames) =
            (labels.count, height, width, channels, pixels, labels, classNames)
    }

    /// Loads an IDX image file and an IDX label file (each gzip-compressed or raw).
    ///
    /// - Parameter classNames: the class names; labels must be below their count.
    /// - Throws: `IDXError` naming the file at fault: missing or unreadable file, corrupt
    ///   gzip, wrong magic or dimension count, wrong payload size, image count different
    ///   from label count, or a label out of range.
    public static func load(
        images imagesPath: String, labels labelsPath: String,
        classNames: [String] = FashionMNIST.classNames
    ) throws -> LabeledImages {
        let images = try IDXFile(path: imagesPath, expecting: .images)
        let labels = try IDXFile(path: labelsPath, expecting: .labels)
        let (count, height, width) = (images.dims[0], images.dims[1], images.dims[2])
        guard count == labels.dims[0] else {
            throw IDXError.countMismatch(
                imagesPath: imagesPath, imageCount: count, labelsPath: labelsPath, labelCount: labels.dims[0])
        }
        guard height > 0, width > 0 else {
            throw IDXError.invalidHeader(path: imagesPath, reason: "image size \(height)x\(width) is empty")
        }
        if let bad = labels.bytes.firstIndex(where: { Int($0) >= classNames.count }) {
            throw IDXError.labelOutOfRange(
                path: labelsPath, index: bad, label: Int(labels.bytes[bad]), classCount: classNames.count)
        }
        return try LabeledImages(
            height: height, width: width, pixels: images.bytes, labels: labels.bytes, classNames: classNames)
    }

    /// SHA-256 (lowercase hex) of a canonical encoding of the whole content, to record which
    /// data a run used and to detect any change to it.
    ///
    /// The encoding is the ASCII tag `benn.LabeledImages.v1`, then `count`, `height`, `width`
    /// and `classCount` as 8-byte little-endian integers, then for each class name its UTF-8
    /// length (8-byte little-endian) and bytes, then all `pixels`, then all `labels`. Images
    /// of more than one channel use the tag `benn.LabeledImages.v2` and add `channels` after
    /// `width` (grey images keep the v1 hash, so every recorded hash stays valid).
    /// Computed on each call (about a tenth of a second for Fashion-MNIST's training set in a
    /// release build): keep the value if it is needed more than once.
    public var contentHash: String {
        var hasher = SHA256()
        if channels == 1 {
            hasher.update("benn.LabeledImages.v1")
            for n in [count, height, width, classCount] { hasher.update(littleEndian: UInt64(n)) }
        } else {
            hasher.update("benn.LabeledImages.v2")
            for n in [count, height, width, channels, classCount] { hasher.update(littleEndian: UInt64(n)) }
        }
        for name in classNames {
            let utf8 = Array(name.utf8)
            hasher.update(littleEndian: UInt64(utf8.count))
            hasher.update(utf8)
        }
        hasher.update(pixels)
        hasher.update(labels)
        return SHA256.hex(hasher.finalize())
    }

    /// Number of images of each class, indexed by label.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }

    /// Holds out `validationCount` samples chosen at random (fixed by `seed`) as a
    /// validation view; the rest form the training view. Both index lists are sorted.
    ///
    /// - Throws: `DatasetError.validationCountOutOfRange` unless `0 <= validationCount < count`.
    public func split(validationCount: Int, seed: UInt64) throws
        -> (training: DatasetView, validation: DatasetView)
    {
        try DatasetView.all(self).split(validationCount: validationCount, seed: seed)
    }

    /// Writes the scaled pixels (`Float(x) / 127.5 - 1`) of the images `indices`, one after
    /// another, into `buffer`, which must have room for `indices.count * pixelsPerImage` floats.
    ///
    /// - Precondition: every index is in `0..<count`.
    public func fillInputs(indices: [Int], into buffer: UnsafeMutablePointer<Float>) {
        let n = pixelsPerImage
        PixelScaling.table.withUnsafeBufferPointer { table in
            pixels.withUnsafeBufferPointer { src in
                var out = buffer
                for index in indices {
                    precondition(index >= 0 && index < count, "sample index \(index) out of range 0..<\(count)")
                    let image = src.baseAddress! + index * n
                    for p in 0..<n { out[p] = table[Int(image[p])] }
                    out += n
                }
            }
        }
    }

    /// As `fillInputs(indices:into:)`, applying `augmentations` to each image with draws
    /// from `rng` (in order: for each image, each augmentation's draws in list order).
    ///
    /// - Throws: `DatasetError.invalidAugmentation` for a negative crop padding.
    public func fillInputs(
        indices: [Int], into buffer: UnsafeMutablePointer<Float>,
        augmentations: [Augmentation], rng: inout SeededGenerator
    ) throws {
        if augmentations.isEmpty {
            fillInputs(indices: indices, into: buffer)
            return
        }
        try Augmentation.validate(augmentations)
        let n = pixelsPerImage
        var scratch = [UInt8](repeating: 0, count: 2 * n)
        PixelScaling.table.withUnsafeBufferPointer { table in
            pixels.withUnsafeBufferPointer { src in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    var out = buffer
                    for index in indices {
                        precondition(index >= 0 && index < count, "sample index \(index) out of range 0..<\(count)")
                        let image = Augmentation.apply(
                            augmentations, to: src.baseAddress! + index * n,
                            height: height, width: width, channels: channels, scratch: scratch.baseAddress!, rng: &rng)
                        for p in 0..<n { out[p] = table[Int(image[p])] }
                        out += n
                    }
                }
            }
        }
    }
}
