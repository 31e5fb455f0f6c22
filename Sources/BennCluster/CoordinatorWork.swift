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
        let spec = run.spec
        let loaded = ResultSlots<((train: LabeledImages, test: LabeledImages)?, DatasetManifest?)>(count: 2)
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            loaded.set(part) {
                if part == 0 { return (try TrainingData.load(spec: spec), nil) }
                return (nil, try datasets.register(files: TrainingData.files(spec: spec), directory: directory))
            }
        }
        let parts = try loaded.values()
        let trainImages = parts[0].0!.train, testImages = parts[0].0!.test
        let data = try TrainingData.make(spec: run.spec, trainImages: trainImages, testImages: testImages)
        run.data = data
        run.dataset = parts[1].1!
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
        try EnsembleArtifact.assemble(ensemble, classNames: job.classNames, datasetHash: job.datasetHash,
                                      validation: job.data.validation, environment: environment).artifact.write(to: job.path)
    }

    static var environment: [String: String] {
        ["benn": BennVersion.current, "blas": "\(BLAS.coreName)", "binary_kernels": BinaryKernels.active.rawValue, "cpu": CPUFeatures.current.modelName]
    }
}
