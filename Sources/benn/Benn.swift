import ArgumentParser
import BennBench
import BennCore
import BennTensor
import BennTrain

@main
struct Benn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benn",
        abstract: "Train, evaluate and serve ensembles of binary neural networks.",
        version: BennVersion.current,
        subcommands: [Train.self, Check.self, Eval.self, Predict.self, Inspect.self, Serve.self, CoordinatorCommand.self, WorkerCommand.self, Submit.self, Status.self, Keygen.self, Bench.self, Compare.self, Info.self]
    )

    static func main() {
        HeapTuning.keepFreedMemoryForReuse()
        main(nil)
    }
}

/// Runs a command body, turning any error into one clear line on stderr and exit code 1
/// (never a stack trace).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        Console.error("\(error)")
        throw ExitCode(1)
    }
}
