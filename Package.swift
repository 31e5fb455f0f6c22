// swift-tools-version:6.0
import PackageDescription

// Dependency graph (one way, top to bottom):
//   benn (executable) -> BennBench, BennServe, BennCluster -> BennEnsemble -> BennTrain, BennInference
//   BennBench -> BennCluster, BennEnsemble, BennOptions (benchmarks and their settings as flags; benn keeps the commands)
//   BennOptions -> BennTrain, ArgumentParser (the option groups the commands share)
//   BennTrain owns TrainingData (loading a spec's data and its views); BennEnsemble owns EnsembleArtifact.assemble
//   BennCluster -> BennTransport -> CZMQ
//   BennTrain -> BennNN -> BennKernels -> CBennKernels;  BennTrain -> BennData -> BennRandom, CBennZlib, CBennHash, ZIPFoundation (.npz)
//   BennNN -> BennTensor -> BennCore, BennBLAS, BennRandom;  BennInference -> BennNN
//   BennCore (bottom: JSONValue and its codec, UnsafeSendableBox, MonotonicClock/Stopwatch,
//   HeapTuning) -> CBennMalloc; used by BennTensor and up (BennNN, BennInference, BennTrain,
//   BennEnsemble, BennCluster, BennServe, BennBench, benn)
let package = Package(
    name: "benn",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "benn", targets: ["benn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // C kernels: per-function target attributes, chosen at run time.
        .target(name: "CBennKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // Element-wise training loops, vectorised per CPU through target_clones.
        .target(name: "CBennOps", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off"])]),
        .systemLibrary(name: "CBennZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .target(name: "BennRandom"),
        .target(name: "BennBLAS"),
        .target(name: "BennKernels", dependencies: ["CBennKernels"]),
        // glibc's malloc settings (not in Swift's Glibc module).
        .target(name: "CBennMalloc"),
        // What several modules share; depends on nothing of benn's but the malloc shim.
        .target(name: "BennCore", dependencies: ["CBennMalloc"]),
        .target(name: "BennTensor", dependencies: ["BennCore", "BennBLAS", "BennRandom"]),
        .target(name: "CBennHash", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "BennData", dependencies: [
            "BennCore",
            "BennRandom", "CBennZlib", "CBennHash",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        .target(name: "BennTransport", dependencies: ["CZMQ"]),
        .target(name: "BennNN", dependencies: ["BennCore", "BennTensor", "BennKernels", "BennBLAS", "CBennOps"]),
        .target(name: "BennInference", dependencies: ["BennCore", "BennNN", "BennKernels", "BennTensor", "BennBLAS"]),
        .target(name: "BennTrain", dependencies: [
            "BennCore", "BennNN", "BennData", "BennTensor",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "BennEnsemble", dependencies: ["BennCore", "BennTrain", "BennData", "BennNN", "BennTensor", "BennRandom", "BennKernels", "BennInference"]),
        .target(name: "BennCluster", dependencies: ["BennCore", "BennTransport", "BennEnsemble", "BennTrain", "BennData", "BennTensor", "BennKernels", "BennBLAS"]),
        .target(name: "BennServe", dependencies: [
            "BennCore", "BennEnsemble", "BennData", "BennTensor", "BennTrain",
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        // The option groups the commands share (--threads, --report, --data, --set), the
        // JSON report writer, and the spec enums as argument values.
        .target(name: "BennOptions", dependencies: [
            "BennData", "BennTrain", "BennNN",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The benchmarks behind `benn bench`; each benchmark's settings are its command's
        // flags (ParsableArguments), the commands themselves stay in benn.
        .target(name: "BennBench", dependencies: [
            "BennCore", "BennCluster", "BennTransport", "BennEnsemble", "BennTrain", "BennInference", "BennNN", "BennData", "BennTensor", "BennKernels", "BennBLAS", "BennRandom",
            "BennOptions", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "benn", dependencies: [
            "BennCore", "BennBench", "BennOptions", "BennTensor", "BennTrain", "BennEnsemble", "BennCluster", "BennInference", "BennServe",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "BennCoreTests", dependencies: ["BennCore"]),
        .testTarget(name: "BennRandomTests", dependencies: ["BennRandom"]),
        .testTarget(name: "BennBLASTests", dependencies: ["BennBLAS"]),
        .testTarget(name: "BennKernelsTests", dependencies: ["BennKernels"]),
        .testTarget(name: "BennDataTests", dependencies: ["BennData", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .testTarget(name: "BennNNTests", dependencies: ["BennNN"]),
        .testTarget(name: "BennInferenceTests", dependencies: ["BennInference"]),
        .testTarget(name: "BennTrainTests", dependencies: ["BennTrain"]),
        .testTarget(name: "BennEnsembleTests", dependencies: ["BennEnsemble"]),
        .testTarget(name: "BennTransportTests", dependencies: ["BennTransport"]),
        .testTarget(name: "BennClusterTests", dependencies: ["BennCore", "BennCluster", "BennTransport", "BennEnsemble", "BennTrain", "BennData"]),
        .testTarget(name: "BennServeTests", dependencies: ["BennCore", "BennServe", "BennEnsemble", "BennData", "BennTensor", "BennTrain"]),
        // Runs the built `benn` executable as a subprocess.
        .testTarget(name: "BennCLITests", dependencies: ["benn", "BennCluster", "BennTransport", "BennEnsemble"]),
    ]
)
