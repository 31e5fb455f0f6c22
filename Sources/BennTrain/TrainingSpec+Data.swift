extension TrainingSpec {
    /// How many samples the data section leaves of a dataset.
    public struct SampleCounts: Sendable, Equatable {
        public var training: Int
        public var validation: Int
        public var test: Int?
    }

    /// Checks the data section against the data it meets: what `validate()` cannot know
    /// without the files. A spec whose limit and hold-out leave nothing to train on is an
    /// error naming the keys, found before any member is queued, not a job that fails on
    /// every worker.
    ///
    /// - Parameters:
    ///   - trainingSamples: samples in the training split, before `data.limit`.
    ///   - testSamples: samples in the test split (nil: not loaded).
    ///   - imageSize: the images' height and width.
    public func sampleCounts(trainingSamples: Int, testSamples: Int?, imageSize: (height: Int, width: Int)) throws -> SampleCounts {
        func bad(_ message: String) -> SpecError { SpecError(location: nil, message: message) }
        let directory = data.directory
        guard trainingSamples > 0 else { throw bad("data.directory: the training split in \(directory) has no samples") }
        let kept = data.limit > 0 ? min(data.limit, trainingSamples) : trainingSamples
        if data.validation >= kept {
            let of = data.limit > 0 && data.limit < trainingSamples
                ? "the \(kept) that data.limit keeps" : "the \(trainingSamples) in \(directory)"
            throw bad("data.validation (\(data.validation)) must leave at least one training sample of \(of)")
        }
        var test = testSamples
        if let t = testSamples {
            guard t > 0 else { throw bad("data.directory: the test split in \(directory) has no samples") }
            if data.testLimit > 0 { test = min(data.testLimit, t) }
        }
        let side = min(imageSize.height, imageSize.width)
        if data.cropPadding >= side {
            throw bad("data.crop_padding must be smaller than the images (\(imageSize.height)x\(imageSize.width)), got \(data.cropPadding)")
        }
        return SampleCounts(training: kept - data.validation, validation: data.validation, test: test)
    }
}
