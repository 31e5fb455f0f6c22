import ArgumentParser
import BennNN
import BennOptions
import BennTrain
import Foundation

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a spec file without training: print the spec it means and 'ok', or the problem and where.",
        usage: "benn check [SPEC] [--set key=value ...] [--json]\n  benn check --schema",
        discussion: "Reads the spec and flags as `benn train` does and checks every value, but loads no data: whether data.limit and data.validation leave samples to train on is checked when the data is loaded.")

    @OptionGroup var specOptions: SpecOptions
    @Flag(help: "Print the spec as the JSON a coordinator receives (camelCase keys) instead of spec-file keys.")
    var json = false
    @Flag(help: "Print every spec key (type, values, default, methods, meaning) as a Markdown table, and check nothing.")
    var schema = false

    func run() throws {
        try reportingErrors {
            if schema { return print(TrainingSpec.schemaTable) }
            let spec = try specOptions.makeSpec()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(spec), as: UTF8.self))
            } else {
                // Only the options the method takes: the lines can be pasted back into a spec.
                let options = Set(MethodSpec.optionKeys(for: spec.method.name).map { "method_options." + $0 })
                let fields = spec.fieldsBySpecKey
                for key in TrainingSpec.specKeys where !key.hasPrefix("method_options.") || options.contains(key) {
                    if let value = fields[key] { print("\(key): \(value)") }
                }
            }
            print("ok")
        }
    }
}
