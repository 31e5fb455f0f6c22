import BennCore
import BennData
import Dispatch
import Foundation

/// The data a spec trains on: the training view (after `data.limit` and the validation
/// hold-out), the validation view (may be absent) and the test view (after
/// `data.test_limit`). Every path that loads data for a spec goes through here: `benn
/// train`/`eval`, the in-process ensemble, the coordinator, cluster workers and the
/// benchmarks, so they all see the same samples.
public struct TrainingData: Sendable {
    public var training: DatasetView
    public var validation: DatasetView?
    public var test: DatasetView?

    public init(training: DatasetView, validation: DatasetView?, test: DatasetView?) {
        self.training = training
        self.validation = validation
        self.test = test
    }

    /// The training and test splits of the spec's `data.directory`, read in its
    /// `data.format` (guessed from the files when `auto`).
    public static func load(spec: TrainingSpec) throws -> (train: LabeledImages, test: LabeledImages) {
        try load(directory: spec.data.directory, format: spec.data.format, labels: spec.data.labels)
    }

    /// The format a spec's data section reads: `format`, or the one the files of
    /// `directory` show when it is `auto`.
    public static func format(_ format: TrainingSpec.DataSpec.FormatChoice, directory: String) throws -> DataFormat {
        if let chosen = DataFormat(rawValue: format.rawValue) { return chosen }
        return try DataFormat.guess(directory: directory)
    }

    /// Every file the spec's data section reads (to register and ship to workers).
    public static func files(spec: TrainingSpec) throws -> [String] {
        try format(spec.data.format, directory: spec.data.directory).files(directory: spec.data.directory)
    }

    /// The training and test splits of `directory` in `format`; IDX splits are decompressed
    /// side by side.
    public static func load(directory: String, format: TrainingSpec.DataSpec.FormatChoice = .auto,
                            labels: CIFAR.Labels = .fine) throws -> (train: LabeledImages, test: LabeledImages) {
        let resolved = try self.format(format, directory: directory)
        guard resolved == .idx else { return try resolved.load(directory: directory, labels: labels) }
        let loaded = ResultSlots<LabeledImages>(count: 2)
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            loaded.set(part) { try FashionMNIST.load(directory: directory, split: part == 0 ? .train : .test) }
        }
        // The training split's error first, as when the splits were loaded one after the other.
        let splits = try loaded.values()
        return (splits[0], splits[1])
    }

    /// One split of `directory` in `format` (`benn eval`). IDX reads only that split's files.
    public static func load(directory: String, split: FashionMNIST.Split,
                            format: TrainingSpec.DataSpec.FormatChoice = .auto, labels: CIFAR.Labels = .fine) throws -> LabeledImages {
        let resolved = try self.format(format, directory: directory)
        guard resolved == .idx else {
            let both = try resolved.load(directory: directory, labels: labels)
            return split == .train ? both.train : both.test
        }
        return try FashionMNIST.load(directory: directory, split: split)
    }

    /// The views a spec asks for, from loaded training and test images.
    /// - Throws: `SpecError` naming the keys when the spec leaves no training or test data.
    public static func make(spec: TrainingSpec, trainImages: LabeledImages, testImages: LabeledImages?) throws -> TrainingData {
        _ = try spec.sampleCounts(trainingSamples: trainImages.count, testSamples: testImages?.count,
                                  imageSize: (trainImages.height, trainImages.width))
        var train = DatasetView.all(trainImages)
        if spec.data.limit > 0 && spec.data.limit < train.count {
            train = try DatasetView.subset(trainImages, indices: Array(0..<spec.data.limit))
        }
        var validation: DatasetView? = nil
        if spec.data.validation > 0 {
            let parts = try train.split(validationCount: spec.data.validation, seed: spec.seed)
            train = parts.training
            validation = parts.validation
        }
        var test = testImages.map { DatasetView.all($0) }
        if let t = testImages, spec.data.testLimit > 0 && spec.data.testLimit < t.count {
            test = try DatasetView.subset(t, indices: Array(0..<spec.data.testLimit))
        }
        return TrainingData(training: train, validation: validation, test: test)
    }

    /// Loads the spec's data (`load(spec:)`) and makes its views (`make`).
    public static func prepare(spec: TrainingSpec) throws -> (images: (train: LabeledImages, test: LabeledImages), data: TrainingData) {
        let images = try load(spec: spec)
        return (images, try make(spec: spec, trainImages: images.train, testImages: images.test))
    }
}
