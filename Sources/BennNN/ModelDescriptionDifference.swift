/// The first place two model descriptions differ: what it is, and each side's value there.
public struct ModelDifference: Sendable, Equatable {
    /// `name`, `input shape`, `classes`, a layer as `Sequential` names it (`layer l3.short0`),
    /// or a layer list's length (`layers in l3.body`).
    public var location: String
    public var left: String
    public var right: String

    public init(location: String, left: String, right: String) {
        self.location = location
        self.left = left
        self.right = right
    }

    /// "`location` is `left` in the `leftName`, `right` in the `rightName`", for errors.
    public func phrased(left leftName: String, right rightName: String) -> String {
        "\(location) is \(left) in the \(leftName), \(right) in the \(rightName)"
    }
}

extension ModelDescription {
    /// Where `self` (left) first differs from `other` (right), or nil when they are equal.
    /// A refused checkpoint can then name the layer that changed rather than only the model:
    /// after a method's default changes, two descriptions under one model name differ in a
    /// single layer.
    public func firstDifference(from other: ModelDescription) -> ModelDifference? {
        if name != other.name { return ModelDifference(location: "name", left: name, right: other.name) }
        if inputShape != other.inputShape {
            return ModelDifference(location: "input shape", left: "\(inputShape)", right: "\(other.inputShape)")
        }
        if classes != other.classes { return ModelDifference(location: "classes", left: "\(classes)", right: "\(other.classes)") }
        return Self.firstDifference(layers, other.layers, prefix: "l")
    }

    private static func firstDifference(_ a: [LayerSpec], _ b: [LayerSpec], prefix: String) -> ModelDifference? {
        for (i, (x, y)) in zip(a, b).enumerated() where x != y {
            let name = "\(prefix)\(i)"
            switch (x, y) {
            case let (.residual(xBody, xShort), .residual(yBody, yShort)):
                if let d = firstDifference(xBody, yBody, prefix: "\(name).body") { return d }
                if let d = firstDifference(xShort, yShort, prefix: "\(name).short") { return d }
            case let (.inputScaled(xBody), .inputScaled(yBody)):
                if let d = firstDifference(xBody, yBody, prefix: "\(name).body") { return d }
            default:
                break
            }
            return ModelDifference(location: "layer \(name)", left: "\(x)", right: "\(y)")
        }
        guard a.count == b.count else {
            let list = prefix == "l" ? "the model" : prefix
            return ModelDifference(location: "layers in \(list)", left: "\(a.count)", right: "\(b.count)")
        }
        return nil
    }
}
