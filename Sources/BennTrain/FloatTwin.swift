import BennNN

/// A binary model's float twin read from a checkpoint: ReActNet's teacher, and the trained
/// weights a binary model can start from (`method_options.init_from`), as Bi-Real's paper
/// starts its binary network from a trained real-valued one.
enum FloatTwin {
    /// Reads a checkpoint that must hold the float twin of `model` (`role` names the option
    /// in errors).
    static func read(path: String, of model: String, inputShape: [Int], classes: Int,
                     role: String) throws -> Sequential {
        guard let twin = ModelZoo.floatTwin(of: model) else {
            throw SpecError(location: nil, message: "model '\(model)' has no float twin for \(role)")
        }
        let checkpoint = try Checkpoint.read(from: path)
        let expected = try ModelZoo.description(named: twin, inputShape: inputShape, classes: classes)
        if let d = checkpoint.model.firstDifference(from: expected) {
            // Same name, other layers: a twin from another build or options; the names alone
            // would read as a contradiction.
            let message = checkpoint.model.name == twin
                ? "\(role) checkpoint holds a '\(twin)' other than the float twin of '\(model)': \(d.phrased(left: "checkpoint", right: "twin"))"
                : "\(role) checkpoint holds model '\(checkpoint.model.name)'; the float twin of '\(model)' is '\(twin)'"
            throw SpecError(location: path, message: message)
        }
        let network = try Sequential(expected, seed: 0)
        try network.load(checkpoint.tensors)
        return network
    }

    /// Whether a tensor is one the binary model and its twin both have: convolution and
    /// dense weights, batch-norm scales, shifts and running statistics. Method-specific
    /// tensors (RSign biases, RPReLU, SD-BNN's gates and squeeze-and-excitation weights)
    /// have no counterpart in the twin.
    static func isShared(_ name: String) -> Bool {
        ["conv.weight", "dense.weight", "bn.gamma", "bn.beta", "bn.running_mean", "bn.running_var"]
            .contains { name.hasSuffix(".\($0)") }
    }

    /// The kind of a shared tensor (`conv.weight`, `bn.gamma`, ...), to pair like with like.
    static func kind(_ name: String) -> String {
        name.split(separator: ".").suffix(2).joined(separator: ".")
    }

    /// Whether a tensor belongs to a residual block's shortcut (its 1x1 projection): the
    /// layers `Sequential` builds inside a residual's shortcut are named `<layer>.short<i>`.
    static func isShortcut(_ name: String) -> Bool {
        name.split(separator: ".").contains { $0.hasPrefix("short") }
    }

    /// Copies the twin's shared tensors into `model`, pairing them in layer order, the trunk's
    /// and the shortcuts' separately (a ResNet's projections sit after the block's last
    /// convolution or after its first, by shortcut placement, but come in the same order).
    /// A twin without shortcuts (`fcnn`) leaves those of a model with them (`bcnn` under
    /// bireal or reactnet) at their initial values. The paired layouts must correspond one to
    /// one (same kinds and shapes), or nothing is copied.
    static func initialize(_ model: Sequential, from twin: Sequential, twinPath: String) throws {
        let layout = "model '\(model.description.name)' under this method"
        var tensors = Dictionary(uniqueKeysWithValues: model.namedTensors.map { ($0.name, $0.tensor) })
        for shortcuts in [false, true] {
            let source = twin.namedTensors.filter { isShared($0.name) && isShortcut($0.name) == shortcuts }
            let target = model.namedTensors.filter { isShared($0.name) && isShortcut($0.name) == shortcuts }
            if shortcuts && source.isEmpty { continue }
            let part = shortcuts ? "shortcut" : "convolution, dense and batch-norm"
            guard source.count == target.count else {
                throw SpecError(location: twinPath, message: "the float twin '\(twin.description.name)' has \(source.count) \(part) tensors but \(layout) has \(target.count), so their layers do not correspond")
            }
            for (s, t) in zip(source, target) {
                guard kind(s.name) == kind(t.name), s.tensor.shape == t.tensor.shape else {
                    throw SpecError(location: twinPath, message: "the float twin's \(s.name) \(s.tensor.shape) does not correspond to \(t.name) \(t.tensor.shape) of \(layout)")
                }
                tensors[t.name] = s.tensor
            }
        }
        try model.load(tensors)
        // Latent binary weights live in their clip range; a real weight outside it would
        // otherwise sit outside the straight-through window until its first step.
        for p in model.parameters { p.clip() }
    }
}
