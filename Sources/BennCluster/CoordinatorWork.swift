import BennBLAS
import BennCore
import BennData
import BennEnsemble
import BennKernels
import BennNN
import BennTensor
import BennTrain
import Dispatch
import Foundation

/// The coordinator's slow work, run off the event loop: loading a spec's data and
/// aggregating a finished spec into its artifact.
enum CoordinatorWork {
    /// Loads a spec's data, registers its files for workers and sets up its state. Touches
    /// only `run` and the thread-safe dataset server.
    static func prepare(_ run: SpecRun, datasets: DatasetServer) throws {
        // Decompressing the images and hashing the files for workers are independent: done
        // side by side (workers wait for this before their first job).
        let directory = run.spec.data.directory
        let loaded = ResultSlots<(LabeledImages?, DatasetManifest?)>(count: 3)
        DispatchQueue.concurrentPerform(iterations: 3) { part in
            loaded.set(part) {
                switch part {
                case 0: return (try FashionMNIST.load(directory: directory, split: .train), nil)
                case 1: return (try FashionMNIST.load(directory: directory, split: .test), nil)
                default: return (nil, try datasets.register(directory: directory))
                }
            }
        }
        let parts = try loaded.values()
        let trainImages = parts[0].0!, testImages = parts[1].0!
        let data = try EnsembleData.make(spec: run.spec, trainImages: trainImages, testImages: testImages)
        run.data = data
        run.dataset = parts[2].1!
        run.model = try run.spec.modelDescription(inputShape: trainImages.imageShape, classes: trainImages.classCount)
        run.classNames = trainImages.classNames
        run.expectedShapes = Dictionary(uniqueKeysWithValues: try Sequential(run.model!, seed: 0).namedTensors.map { ($0.name, $0.tensor.shape) })
        run.datasetHash = trainImages.contentHash
        run.specJSON = JSONValue.from(run.spec).encoded()
        run.datasetJSON = JSONValue.from(run.dataset!).encoded()
        if run.state.trainingCount == 0 {
            run.state = EnsembleState(spec: run.spec, trainingCount: data.training.count, classes: trainImages.classCount)
        } else if run.state.trainingCount != data.training.count || run.state.classes != trainImages.classCount {
            throw Message.Invalid(description: "the data in \(run.spec.data.directory) changed since the journal was written (\(data.training.count) training samples and \(trainImages.classCount) classes, the journal has \(run.state.trainingCount) and \(run.state.classes))")
        }
    }

    /// Aggregates a complete spec's members into its artifact file.
    static func writeArtifact(_ job: ArtifactJob) throws {
        // Reading and checking the member files (checksum, copies) is most of the time:
        // side by side.
        let members = job.state.members.map(\.member)
        let read = ResultSlots<[String: Tensor]>(count: members.count)
        DispatchQueue.concurrentPerform(iterations: members.count) { i in
            read.set(i) {
                guard let file = job.memberFiles[members[i]] else { throw Message.Invalid(description: "member \(members[i]) has no stored tensors") }
                return try SafeTensors.read(from: job.stateDirectory + "/" + file).tensors
            }
        }
        let tensors = Dictionary(uniqueKeysWithValues: zip(members, try read.values()))
        let ensemble = TrainedEnsemble(state: job.state, model: job.model, tensors: tensors)
        let networks = try ensemble.networks()
        let best = EnsembleEvaluation.bestPrefix(networks, weights: job.state.members.map(\.alpha),
                                                 rule: job.state.spec.ensemble.aggregation, validation: job.data.validation).count
        let artifact = EnsembleArtifact(ensemble: ensemble, classNames: job.classNames, datasetHash: job.datasetHash,
                                        bestPrefix: best, environment: environment)
        try artifact.write(to: job.path)
    }

    static var environment: [String: String] {
        ["benn": BennVersion.current, "blas": "\(BLAS.coreName)", "binary_kernels": BinaryKernels.active.rawValue, "cpu": CPUFeatures.current.modelName]
    }
}
