import ArgumentParser
import BennBench
import BennOptions
import BennTrain
import Foundation

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the final test accuracies of `benn train --report` runs over seeds.",
        discussion: """
        Reports whose specs are the same but for the seed (and thread count) are one kind of run. \
        Each kind is set against the baseline: its mean against the baseline's over Welch's \
        standard error, and its margin on every seed both ran (the same seed draws the same data order).
        """)

    @Argument(help: "Report files written by `benn train --report`.") var reports: [String] = []
    @Option(help: "A report of the baseline kind (default: the first report's kind).") var baseline: String?
    @Option(help: "A spec key whose value may differ within a kind of run, e.g. method_options.teacher when each seed distils from its own twin (repeatable).")
    var ignore: [String] = []
    @OptionGroup var reportOptions: ReportOptions
    var report: String? { reportOptions.report }

    func run() throws {
        try reportingErrors {
            guard !reports.isEmpty else { throw ValidationError("name the report files to compare (written by `benn train --report FILE`)") }
            let comparison = try ReportComparison(try reports.map(Self.read), baseline: baseline, ignoring: ignore)
            Self.print(comparison)
            if let report { try writeJSONReport(comparison, to: report) }
        }
    }

    static func read(_ path: String) throws -> ReportComparison.Run {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ReportComparisonError("\(path): cannot read the file (\(FileManager.default.fileExists(atPath: path) ? "permission or I/O error" : "no such file"))")
        }
        do {
            return ReportComparison.Run(path: path, report: try JSONDecoder().decode(TrainingReport.self, from: data))
        } catch let error as DecodingError {
            // Only a file that is not a training report is read a second time, to say what it is.
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ReportComparisonError("\(path): not a JSON object; expected a report written by `benn train --report`")
            }
            if object["manifest"] != nil {
                throw ReportComparisonError("\(path): the report of an ensemble; compare takes the reports of single-model trainings")
            }
            throw ReportComparisonError("\(path): not a `benn train --report` file: \(phrase(error))")
        }
    }

    static func phrase(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String { path.isEmpty ? "the top level" : path.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let key, let context): return "no '\(at(context.codingPath + [key]))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(at(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    static func print(_ comparison: ReportComparison) {
        func points(_ accuracy: Double) -> String { Console.fixed(accuracy * 100, 2) }
        func signed(_ accuracy: Double) -> String { (accuracy >= 0 ? "+" : "") + points(accuracy) }
        let runs = comparison.groups.map(\.files.count).reduce(0, +)
        let ignored = comparison.ignored.isEmpty ? "" : " (\(comparison.ignored.joined(separator: ", ")) ignored)"
        let kinds = comparison.groups.count == 1 ? "1 kind" : "\(comparison.groups.count) kinds"
        Swift.print("\(runs) run\(runs == 1 ? "" : "s") of \(kinds)\(ignored), data sha256 \(comparison.datasetHash.prefix(12))...; final test accuracy, %")
        for group in comparison.groups {
            // The model and method lead the line already.
            let options = group.differences.filter { !$0.hasPrefix("model is ") && !$0.hasPrefix("method is ") }
            let title = ([group.model + ", " + group.method] + options).joined(separator: "; ")
            Swift.print("\(group.label)\(group.versusBaseline == nil ? " (baseline)" : ""): \(title)")
            let sd = group.standardDeviation.map { ", sd \(points($0))" } ?? ""
            Swift.print("  \(seedList(group.seeds)): \(group.accuracies.map(points).joined(separator: " "))  mean \(points(group.mean))\(sd)")
            guard let versus = group.versusBaseline else { continue }
            var line = "  vs A: \(signed(versus.meanDifference))"
            if let se = versus.standardError {
                line += ", Welch standard error \(Console.fixed(se * 100, 3))"
                if let n = versus.standardErrors { line += " (\(Console.fixed(n, 2)) standard errors)" }
            }
            if let mean = versus.meanPairedDifference {
                line += "; paired on \(seedList(versus.pairedSeeds)): \(versus.pairedDifferences.map(signed).joined(separator: " ")), above on \(versus.above) of \(versus.pairedSeeds.count), mean \(signed(mean))"
            } else {
                line += "; no seed in common with A"
            }
            Swift.print(line)
        }
    }

    /// "seeds 0-8", "seeds 0, 2, 5", "seed 3".
    static func seedList(_ seeds: [UInt64]) -> String {
        if seeds.count == 1 { return "seed \(seeds[0])" }
        let contiguous = zip(seeds, seeds.dropFirst()).allSatisfy { $1 == $0 + 1 }
        return contiguous ? "seeds \(seeds[0])-\(seeds[seeds.count - 1])" : "seeds " + seeds.map(String.init).joined(separator: ", ")
    }
}
