import ArgumentParser
import BennBench
import BennNN

/// The method table: each BNN method trained on the same model with the same recipe,
/// budget and seed, beside the model's float twin.
struct BenchMethods: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "methods",
        abstract: "Train each BNN method on bcnn and breal18 with one budget and seed; accuracy, samples/s, inference images/s.")

    @Option(help: "Comma-separated binary models.") var models: String = "bcnn,breal18"
    @Option(help: "Comma-separated methods.") var methods: String = MethodSpec.Name.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Epochs per training (every method and the float twin).") var epochs: Int = 3
    @Option(help: "Seed of every training.") var seed: UInt64 = 0
    @Option(help: "Comma-separated seeds, instead of --seed: every row is trained once per seed, and a summary gives each row's mean and standard deviation over the seeds and its mean paired difference from bnn.")
    var seeds: String?
    @Option(help: "Learning rate (Adam, cosine schedule; the same for every method).") var learningRate: Float = 1e-3
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var setOptions: SetOptions
    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }
    @OptionGroup var reportOptions: ReportOptions
    @Flag(help: "Only measure folded inference of every method's network (untrained weights; speed does not depend on them), all in one pass.")
    var inferenceOnly = false
    @Flag(name: .customLong("steps"), help: "With --inference-only: also print each compiled step's share of one thread's time on 256 images (best of 5 per step).")
    var printSteps = false
    @Flag(name: .customLong("real-first-last"), help: "Keep every binary model's first-layer weights and classifier real (method_options.real_first_last).")
    var realFirstLast = false
    @Option(name: .customLong("resnet-shortcut"), help: "Where every binary ResNet row puts its shortcuts: per_conv or per_block (method_options.resnet_shortcut; default: each method's own).")
    var resnetShortcut: MethodSpec.ShortcutPlacement?
    @Option(name: .customLong("twin"), help: "A float twin already trained with this table's recipe, seed and data (`benn train --model fcnn ... -o FILE`): its row and ReActNet's teacher come from it instead of a new training. Repeat for several models (and with --seeds, one per seed).")
    var twinPaths: [String] = []
    @Option(name: .customLong("variant"), help: "One more row per model: a method with options, as METHOD:KEY=VALUE[,KEY=VALUE...] (method_options keys, docs/methods.md), e.g. xnor:activation_scaling=true. Repeat for several; a distilling variant (sdbnn:teacher=train) learns from the table's float twin.")
    var variants: [String] = []
    @Option(name: .customLong("teacher-epochs"), help: "Distilling rows (ReActNet, a teacher=train variant) learn from a float twin trained for N epochs with the table's recipe and seed, as `teacher_epochs: N` in a spec, instead of from the table's twin row; the float row keeps the table's epochs.")
    var teacherEpochs: Int?

    func run() throws {
        try reportingErrors {
            let threads = try Runtime.configure(threads: threads)
            var bench = MethodBench()
            bench.models = models
            bench.methods = methods
            bench.epochs = epochs
            bench.seed = seed
            bench.seeds = seeds
            bench.learningRate = learningRate
            bench.limit = dataOptions.limit
            bench.testLimit = dataOptions.testLimit
            bench.data = dataOptions.directory()
            bench.inferenceOnly = inferenceOnly
            bench.printSteps = printSteps
            bench.realFirstLast = realFirstLast
            bench.resnetShortcut = resnetShortcut
            bench.twinPaths = twinPaths
            bench.variants = variants
            bench.teacherEpochs = teacherEpochs
            bench.assignments = setOptions.assignments
            let figures = try bench.run(threads: threads)
            try reportOptions.write(figures)
        }
    }
}
