import ArgumentParser
import BennData
import BennTrain

/// `--threads`: the compute threads of a command that computes (one definition, one range).
public struct ThreadOptions: ParsableArguments {
    @Option(help: "Compute threads (default: all cores).") public var threads: Int?

    public init() {}

    public func validate() throws {
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads must be between 1 and 1024, got \(threads)")
        }
    }
}

/// `--report FILE`: where a command writes its JSON report (pretty, key-sorted).
public struct ReportOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write a JSON report (the run's figures) here.", valueName: "file")) public var report: String?

    public init() {}

    /// Writes `value` to the report file, when one was asked for.
    public func write<T: Encodable>(_ value: @autoclosure () throws -> T) throws {
        if let report { try writeJSONReport(try value(), to: report) }
    }
}

/// `--data`, `--limit`, `--test-limit`: where a command that trains reads its data and how
/// much of it. The ranges are the spec's (`data.limit`, `data.test_limit`).
public struct DataOptions: ParsableArguments {
    @Option(help: "Directory with the IDX files (Fashion-MNIST or MNIST layout; default: a spec's data.directory, or \(FashionMNIST.defaultDirectory)).")
    public var data: String?
    @Option(help: "Use only the first N training samples (0: all; quick runs).") public var limit: Int?
    @Option(name: .customLong("test-limit"), help: "Use only the first N test samples (0: all).") public var testLimit: Int?

    public init() {}

    /// `--data`, or `fallback` when it was not given (a benchmark's: Fashion-MNIST's directory).
    public func directory(default fallback: String = FashionMNIST.defaultDirectory) -> String { data ?? fallback }

    /// A benchmark's data in `spec`: `--data` (or Fashion-MNIST's directory), `--limit` and
    /// `--test-limit` (or all samples).
    public func applyBenchmarkData(to spec: inout TrainingSpec) {
        spec.data.directory = directory()
        spec.data.limit = limit ?? 0
        spec.data.testLimit = testLimit ?? 0
    }

    public func validate() throws {
        for (flag, key, value) in [("--limit", "data.limit", limit), ("--test-limit", "data.test_limit", testLimit)] {
            if let value, let problem = TrainingSpec.fieldsByKey[key]?.range?.problem(value) {
                throw ValidationError("\(flag) \(problem)")
            }
        }
    }
}

/// `--set key=value`: any spec key, read and range-checked through the schema
/// (`SpecParser.apply`), after everything else a command sets in its specs.
public struct SetOptions: ParsableArguments {
    @Option(name: .customLong("set"), help: ArgumentHelp("Set any spec key, after the spec file and the other flags; a benchmark sets it in every spec it trains (repeatable; `benn check --schema` lists the keys).", valueName: "key=value"))
    public var assignments: [String] = []

    public init() {}
}
