import ArgumentParser

/// `--threads`: the compute threads of a command that computes (one definition, one range).
struct ThreadOptions: ParsableArguments {
    @Option(help: "Compute threads (default: all cores).") var threads: Int?

    func validate() throws {
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads must be between 1 and 1024, got \(threads)")
        }
    }
}

/// `--report FILE`: where a command writes its JSON report (pretty, key-sorted).
struct ReportOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write a JSON report (the run's figures) here.", valueName: "file")) var report: String?

    /// Writes `value` to the report file, when one was asked for.
    func write<T: Encodable>(_ value: @autoclosure () throws -> T) throws {
        if let report { try writeJSONReport(try value(), to: report) }
    }
}
