import ArgumentParser
import BennBench
import BennBLAS
import BennData
import BennInference
import BennKernels
import BennNN
import BennTensor
import BennTrain
import Dispatch
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput; figures are ratios against a baseline run in the same process.",
        subcommands: [BenchTraining.self, BenchKernels.self, BenchInference.self, BenchMethods.self, BenchCluster.self, BenchEnsemble.self])
}

/// Trains each benchmark model and its float twin with the standard recipe and compares them.
struct BenchTraining: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training",
        abstract: "Train bmlp and bcnn (and their float twins fmlp, fcnn) with the standard recipe.")

    @Option(help: "Comma-separated binary models to measure.") var models: String = "bmlp,bcnn"
    @Option(name: .customLong("bmlp-epochs")) var bmlpEpochs: Int = 10
    @Option(name: .customLong("bcnn-epochs")) var bcnnEpochs: Int = 5
    @Option(name: .customLong("float-epochs"), help: "Epochs for the float twins (default: same as the binary model).")
    var floatEpochs: Int?
    @Option(help: "Use only the first N training samples (quick runs).") var limit: Int?
    @Option(help: "Data directory.") var data: String = FashionMNIST.defaultDirectory
    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }
    @OptionGroup var reportOptions: ReportOptions
    var report: String? { reportOptions.report }

    struct Row: Codable {
        var model: String
        var epochs: Int
        var testAccuracy: Float
        var accuracyPerEpoch: [Float]
        var medianSamplesPerSecond: Double
        var samplesPerSecondPerEpoch: [Double]
        var wallSeconds: Double
    }

    struct Report: Codable {
        var rows: [Row]
        var threads: Int
        var versions: [String: String]
    }

    func run() throws {
        try reportingErrors {
            let threads = try Runtime.configure(threads: threads)
            var rows: [Row] = []
            Console.log("compute: BLAS kernel \(BLAS.coreName) [\(BLAS.coreChoice)], binary kernels \(BinaryKernels.active.rawValue), \(threads) threads")
            for binary in models.split(separator: ",").map(String.init) {
                guard binary.hasPrefix("b"), ModelZoo.names.contains(binary), ModelZoo.names.contains("f" + binary.dropFirst()) else {
                    throw ValidationError("--models takes binary benchmark models with a float twin (bmlp, bcnn), got '\(binary)'")
                }
                let epochs = binary == "bcnn" ? bcnnEpochs : bmlpEpochs
                for model in [binary, "f" + binary.dropFirst()] {
                    var spec = TrainingSpec()
                    spec.model = model
                    spec.data.directory = data
                    spec.data.limit = limit ?? 0
                    spec.train.epochs = model.hasPrefix("f") ? (floatEpochs ?? epochs) : epochs
                    let datasets = try TrainingData.prepare(spec: spec).data
                    let trainer = try Trainer(spec: spec, for: datasets.training.base)
                    let start = DispatchTime.now().uptimeNanoseconds
                    let progress = Console.TrainingProgress()
                    try trainer.fit(train: datasets.training, test: datasets.test, progress: progress.handle)
                    let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    let rates = trainer.history.map(\.samplesPerSecond)
                    // The first epoch includes warm-up (page faults, BLAS buffers); the
                    // median over epochs is the steady-state figure.
                    let sorted = rates.sorted()
                    rows.append(Row(model: model, epochs: spec.train.epochs,
                                    testAccuracy: trainer.history.last?.testAccuracy ?? 0,
                                    accuracyPerEpoch: trainer.history.compactMap(\.testAccuracy),
                                    medianSamplesPerSecond: sorted[sorted.count / 2],
                                    samplesPerSecondPerEpoch: rates, wallSeconds: wall))
                }
            }
            print("model  epochs  test accuracy  median samples/s  vs float twin")
            for row in rows {
                let twin = rows.first { $0.model == (row.model.hasPrefix("b") ? "f" + row.model.dropFirst() : row.model) }
                let ratio = twin.map { row.medianSamplesPerSecond / $0.medianSamplesPerSecond } ?? 1
                print("\(row.model.padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(row.epochs).leftPad(6))  \(Console.percent(row.testAccuracy).leftPad(13))  \(String(Int(row.medianSamplesPerSecond)).leftPad(16))  \(Console.fixed(ratio, 2).leftPad(12))x")
            }
            if let report {
                try writeJSONReport(Report(rows: rows, threads: threads, versions: RuntimeInfo.versions), to: report)
            }
        }
    }
}

/// Binary GEMM throughput per kernel path and thread count against sgemm on the same shapes.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Binary GEMM GMAC/s per path and thread count, and the ratio against BLAS sgemm on the same shapes.")

    @OptionGroup var reportOptions: ReportOptions
    var report: String? { reportOptions.report }

    struct Row: Codable {
        var path: String
        var threads: Int
        var m: Int, n: Int, k: Int
        var binaryGMACPerSecond: Double
        var sgemmGMACPerSecond: Double
        var ratio: Double
    }

    func run() throws {
        try reportingErrors {
            _ = try Runtime.configure(threads: 2)
            print("BLAS kernel: \(BLAS.coreName) [\(BLAS.coreChoice)]; binary kernel paths: \(BinaryKernels.supported.map(\.rawValue).joined(separator: ", "))")
            var sgemm: [String: Double] = [:]
            for shape in KernelBenchmark.defaultShapes {
                for threads in [1, 2] {
                    sgemm["\(shape.m)x\(shape.n)x\(shape.k)/\(threads)"] = Self.sgemmGMAC(shape, threads: threads)
                }
            }
            var rows: [Row] = []
            for r in KernelBenchmark.run() {
                let s = sgemm["\(r.m)x\(r.n)x\(r.k)/\(r.threads)"] ?? .nan
                rows.append(Row(path: r.path.rawValue, threads: r.threads, m: r.m, n: r.n, k: r.k,
                                binaryGMACPerSecond: r.gmacPerSecond, sgemmGMACPerSecond: s, ratio: r.gmacPerSecond / s))
            }
            print("path    threads  shape (m x n x k)     binary GMAC/s  sgemm GMAC/s  ratio")
            for r in rows {
                print("\(r.path.padding(toLength: 7, withPad: " ", startingAt: 0)) \(String(r.threads).leftPad(7))  \("\(r.m) x \(r.n) x \(r.k)".padding(toLength: 20, withPad: " ", startingAt: 0))  \(Console.fixed(r.binaryGMACPerSecond, 1).leftPad(13))  \(Console.fixed(r.sgemmGMACPerSecond, 1).leftPad(12))  \(Console.fixed(r.ratio, 1).leftPad(5))x")
            }
            if let report {
                try writeJSONReport(rows, to: report)
            }
        }
    }

    /// Median sgemm rate (multiply-accumulates per second / 1e9) of C = A·Bᵀ.
    static func sgemmGMAC(_ s: KernelBenchmark.Shape, threads: Int) -> Double {
        let a = [Float](repeating: 0.5, count: s.m * s.k), b = [Float](repeating: -0.25, count: s.n * s.k)
        var c = [Float](repeating: 0, count: s.m * s.n)
        BLAS.setThreads(threads)
        var times: [Double] = []
        for rep in 0..<6 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            BLAS.sgemm(.none, .transpose, m: s.m, n: s.n, k: s.k, a: a, lda: s.k, b: b, ldb: s.k, c: &c, ldc: s.n)
            if rep > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
        }
        times.sort()
        return Double(s.m) * Double(s.n) * Double(s.k) / times[times.count / 2] / 1e9
    }
}

/// Folded packed inference against the float twins on BLAS, in one run.
struct BenchInference: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference",
        abstract: "Images/s and latency of folded bcnn/bmlp vs float fcnn/fmlp at batch 1 and 256, 1 and 2 threads.")

    @Option(help: "Comma-separated models.") var models: String = "bcnn,fcnn,bmlp,fmlp"
    @OptionGroup var reportOptions: ReportOptions
    var report: String? { reportOptions.report }

    func run() throws {
        try reportingErrors {
            _ = try Runtime.configure(threads: 2)
            let r = try InferenceBenchmark.run(models: models.split(separator: ",").map(String.init))
            print("kernels \(r.kernelPath), BLAS \(r.blasCore)")
            print("model  folded  batch  threads   ms/batch    images/s")
            for x in r.results {
                print("\(x.model.padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(x.folded).leftPad(6))  \(String(x.batch).leftPad(5))  \(String(x.threads).leftPad(7))  \(Console.fixed(x.secondsPerBatch * 1000, 3).leftPad(9))  \(String(Int(Double(x.batch) / x.secondsPerBatch)).leftPad(10))")
            }
            if let report {
                try writeJSONReport(r, to: report)
            }
        }
    }
}
