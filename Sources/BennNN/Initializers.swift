import BennRandom
import BennTensor

/// Weight initialisation. Glorot-uniform is what Keras and larq use by default, so the
/// benchmark models start from the same distribution as the reference runs.
public enum Initializer {
    public static func glorotUniform(shape: [Int], fanIn: Int, fanOut: Int, rng: inout SeededGenerator) -> Tensor {
        let limit = (6.0 / Float(fanIn + fanOut)).squareRoot()
        var t = Tensor(uninitializedShape: shape)
        let n = t.count
        t.withMutablePointer { p in for i in 0..<n { p[i] = rng.uniform(-limit, limit) } }
        return t
    }
}
