import Foundation

/// The final test accuracies of several `benn train --report` runs, grouped into kinds of run
/// (the same spec but for the seed) and each kind set against a baseline kind: the figures a
/// "does this beat that" decision over seeds rests on, from runs that may have been trained
/// on different machines at different times.
///
/// Runs of two kinds are paired by seed, since the same seed draws the same data order; the
/// unpaired figure is the difference of the means over Welch's standard error, which does not
/// assume the two kinds vary alike. The comparison reports both and decides nothing.
public struct ReportComparison: Codable, Sendable {
    /// One kind of run: every report whose spec is the same but for the seed.
    public struct Group: Codable, Sendable {
        /// "A" for the baseline, then "B", "C", ... in the order the reports were named.
        public var label: String
        public var model: String
        public var method: String
        /// Where this kind's spec differs from the baseline's, in spec-file keys:
        /// `method_options.resnet_downsample is avg_pool, A's unset`.
        public var differences: [String]
        public var files: [String]
        /// Ascending, with `accuracies` in the same order.
        public var seeds: [UInt64]
        public var accuracies: [Double]
        public var mean: Double
        /// The sample standard deviation (n - 1); nil with one seed.
        public var standardDeviation: Double?
        /// nil for the baseline itself.
        public var versusBaseline: Versus?
    }

    /// One kind of run against the baseline, in accuracy (1.0 = 100%).
    public struct Versus: Codable, Sendable {
        public var meanDifference: Double
        /// Welch's standard error of `meanDifference`; nil when either kind has one seed.
        public var standardError: Double?
        /// `meanDifference / standardError`.
        public var standardErrors: Double?
        /// The seeds both kinds ran, ascending, with this kind's margin on each.
        public var pairedSeeds: [UInt64]
        public var pairedDifferences: [Double]
        public var meanPairedDifference: Double?
        /// Paired seeds on which this kind scored higher than the baseline.
        public var above: Int
    }

    /// One report and the file it was read from (named in every error about it).
    public struct Run: Sendable {
        public var path: String
        public var report: TrainingReport
        public init(path: String, report: TrainingReport) {
            self.path = path
            self.report = report
        }
    }

    public var datasetHash: String
    /// Spec keys left out when telling kinds apart, besides the seed, the thread count and
    /// the data directory.
    public var ignored: [String]
    public var groups: [Group]

    /// Groups the runs and compares each group with the baseline: the group holding the run
    /// read from `baselinePath`, or the first run's. Runs whose specs differ only in the
    /// `ignoring` keys are one kind (a teacher file of each seed's own, say).
    public init(_ runs: [Run], baseline baselinePath: String? = nil, ignoring: [String] = []) throws {
        guard let first = runs.first else { throw ReportComparisonError("no reports to compare") }
        for key in ignoring where !TrainingSpec.specKeys.contains(key) {
            let hint = SpecParser.nearest(key, in: TrainingSpec.specKeys).map { " (did you mean '\($0)'?)" } ?? ""
            throw ReportComparisonError("'\(key)' is not a spec key\(hint); the keys are \(TrainingSpec.specKeys.joined(separator: ", "))")
        }
        for run in runs {
            guard let accuracy = run.report.finalTestAccuracy, accuracy.isFinite else {
                throw ReportComparisonError("\(run.path): the run has no test accuracy (no epoch was evaluated on the test split)")
            }
            if run.report.epochs.count < run.report.spec.train.epochs {
                throw ReportComparisonError("\(run.path): the run stopped after \(run.report.epochs.count) of its \(run.report.spec.train.epochs) epochs")
            }
            if run.report.datasetHash != first.report.datasetHash {
                throw ReportComparisonError("\(first.path) and \(run.path) were trained on different data (sha256 \(first.report.datasetHash.prefix(12))... and \(run.report.datasetHash.prefix(12))...)")
            }
        }
        var kinds: [[String: String]] = []
        var members: [[Run]] = []
        for run in runs {
            let kind = Self.kind(of: run.report.spec, ignoring: ignoring)
            if let i = kinds.firstIndex(of: kind) {
                if let twin = members[i].first(where: { $0.report.seed == run.report.seed }) {
                    throw ReportComparisonError("\(twin.path) and \(run.path) hold the same run (the same spec and seed \(run.report.seed)); name each run once")
                }
                members[i].append(run)
            } else {
                kinds.append(kind)
                members.append([run])
            }
        }
        var baselineIndex = 0
        if let baselinePath {
            guard let i = members.firstIndex(where: { $0.contains { $0.path == baselinePath } }) else {
                throw ReportComparisonError("the baseline \(baselinePath) is not one of the reports compared")
            }
            baselineIndex = i
        }
        let order = [baselineIndex] + members.indices.filter { $0 != baselineIndex }
        var groups: [Group] = []
        for (position, index) in order.enumerated() {
            let runs = members[index].sorted { $0.report.seed < $1.report.seed }
            // Through the Float's shortest decimal form, so 0.9213 reads 0.9213 and not 0.92129999...
            let accuracies = runs.map { Double("\($0.report.finalTestAccuracy!)") ?? Double($0.report.finalTestAccuracy!) }
            let mean = accuracies.reduce(0, +) / Double(accuracies.count)
            let differences = TrainingSpec.differences(kinds[index], from: kinds[baselineIndex], calling: "A's")
            groups.append(Group(label: Self.label(position), model: runs[0].report.spec.model,
                                method: runs[0].report.spec.method.name.rawValue, differences: differences,
                                files: runs.map(\.path), seeds: runs.map(\.report.seed), accuracies: accuracies, mean: mean,
                                standardDeviation: Self.standardDeviation(accuracies, mean: mean), versusBaseline: nil))
        }
        for i in groups.indices.dropFirst() {
            groups[i].versusBaseline = Self.versus(groups[i], groups[0])
        }
        self.datasetHash = first.report.datasetHash
        self.ignored = ignoring
        self.groups = groups
    }

    /// What makes two runs the same kind: their spec's fields but for the seed, the thread
    /// count (which changes only the order of float additions), where the data was read from
    /// (the data itself is checked by its hash) and the keys the caller ignores.
    static func kind(of spec: TrainingSpec, ignoring: [String]) -> [String: String] {
        var fields = spec.fieldsBySpecKey
        for key in ["seed", "threads", "data.directory"] + ignoring { fields[key] = nil }
        return fields
    }

    static func versus(_ group: Group, _ baseline: Group) -> Versus {
        let difference = group.mean - baseline.mean
        var standardError: Double?
        if let s = group.standardDeviation, let b = baseline.standardDeviation {
            standardError = (s * s / Double(group.seeds.count) + b * b / Double(baseline.seeds.count)).squareRoot()
        }
        let baselineBySeed = Dictionary(uniqueKeysWithValues: zip(baseline.seeds, baseline.accuracies))
        let paired = zip(group.seeds, group.accuracies).compactMap { seed, accuracy in
            baselineBySeed[seed].map { (seed, accuracy - $0) }
        }
        let differences = paired.map(\.1)
        return Versus(meanDifference: difference, standardError: standardError,
                      standardErrors: standardError.flatMap { $0 > 0 ? difference / $0 : nil },
                      pairedSeeds: paired.map(\.0), pairedDifferences: differences,
                      meanPairedDifference: differences.isEmpty ? nil : differences.reduce(0, +) / Double(differences.count),
                      above: differences.filter { $0 > 0 }.count)
    }

    static func standardDeviation(_ values: [Double], mean: Double) -> Double? {
        guard values.count > 1 else { return nil }
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }

    static func label(_ position: Int) -> String {
        position < 26 ? String(UnicodeScalar(UInt8(65 + position))) : "G\(position + 1)"
    }
}

/// A set of reports that cannot be compared, naming the file and what is wrong with it.
public struct ReportComparisonError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
