import BennNN
import BennTensor
import Foundation

/// A model with its optimizer state and training progress, enough to resume training
/// or to evaluate. Stored as a safetensors file: parameters and buffers under their own
/// names, optimizer state under `optimizer/`, and the spec, model description and
/// history as JSON in the metadata.
public struct Checkpoint: Sendable {
    public static let format = "benn-checkpoint"
    public static let version = "1"

    public var spec: TrainingSpec
    public var model: ModelDescription
    public var completedEpochs: Int
    public var history: [EpochStats]
    public var tensors: [String: Tensor]
    public var optimizerState: [String: Tensor]

    public func write(to path: String) throws {
        var file = SafeTensors()
        for (name, t) in tensors { file.set(name, t) }
        for (name, t) in optimizerState { file.set("optimizer/" + name, t) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
        file.metadata = [
            "format": Checkpoint.format,
            "format_version": Checkpoint.version,
            "spec": try json(spec),
            "model": try json(model),
            "completed_epochs": String(completedEpochs),
            "history": try json(history),
            "benn_version": BennVersion.current,
        ]
        try file.write(to: path)
    }

    public static func read(from path: String) throws -> Checkpoint {
        let file = try SafeTensors.read(from: path)
        func fail(_ why: String) -> SafeTensors.FormatError { SafeTensors.FormatError(path: path, reason: why) }
        guard file.metadata["format"] == format else {
            throw fail("not a benn checkpoint (format is '\(file.metadata["format"] ?? "missing")')")
        }
        guard file.metadata["format_version"] == version else {
            throw fail("checkpoint format version \(file.metadata["format_version"] ?? "missing") is not supported (this benn reads \(version))")
        }
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            guard let s = file.metadata[key], let v = try? decoder.decode(T.self, from: Data(s.utf8)) else {
                throw fail("metadata field '\(key)' is missing or malformed")
            }
            return v
        }
        var tensors: [String: Tensor] = [:], optimizer: [String: Tensor] = [:]
        for (name, t) in file.tensors {
            if name.hasPrefix("optimizer/") { optimizer[String(name.dropFirst(10))] = t } else { tensors[name] = t }
        }
        guard let epochs = file.metadata["completed_epochs"].flatMap(Int.init) else { throw fail("metadata field 'completed_epochs' is missing") }
        return Checkpoint(spec: try decode("spec", TrainingSpec.self), model: try decode("model", ModelDescription.self),
                          completedEpochs: epochs, history: try decode("history", [EpochStats].self),
                          tensors: tensors, optimizerState: optimizer)
    }

    /// Builds the model the checkpoint holds, with its weights.
    public func makeModel() throws -> Sequential {
        let m = try Sequential(model, seed: spec.seed)
        try m.load(tensors)
        return m
    }
}

public enum BennVersion {
    public static let current = "0.1.0"
}
