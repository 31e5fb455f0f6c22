import BennKernels
import BennNN
import BennTensor

/// Folding rules shared by the compiled inference steps.
public enum InferenceFolding {
    /// The evaluation-mode affine of a batch-norm layer, computed with exactly the Float
    /// operations of `BatchNorm.forward(_:training: false)`:
    /// `scale = gamma * (1 / sqrt(runningVar + eps))`,
    /// `shift = beta - runningMean * gamma * (1 / sqrt(runningVar + eps))`, so that
    /// `x * scale + shift` (product and sum rounded separately) reproduces the layer bit for bit.
    public static func batchNormAffine(_ bn: BatchNorm) -> (scale: [Float], shift: [Float]) {
        let c = bn.channels
        var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
        for j in 0..<c {
            let inv = 1 / (bn.runningVar[j] + bn.epsilon).squareRoot()
            scale[j] = bn.gamma.value[j] * inv
            shift[j] = bn.beta.value[j] - bn.runningMean[j] * bn.gamma.value[j] * inv
        }
        return (scale, shift)
    }

    /// Whether the training path's Float evaluation of "affine then sign" gives bit 1
    /// (negative) for a binary dot product `z = k - 2x`: `Float(z) * scale + shift < 0`, with
    /// the product and the sum rounded separately, as `BatchNorm` computes it.
    @inline(__always)
    public static func floatSignBit(x: Int, k: Int, scale: Float, shift: Float) -> Bool {
        let product = Float(k - 2 * x) * scale
        return product + shift < 0
    }

    /// The training path's bit for a method's chain: the exact product times the weight
    /// scale `alpha` (if any), the batch-norm affine, plus the activation's constant shift
    /// (if any), then sign; each operation rounded separately, in that order.
    @inline(__always)
    public static func floatSignBit(x: Int, k: Int, alpha: Float?, scale: Float, shift: Float, signShift: Float?) -> Bool {
        var z = Float(k - 2 * x)
        if let alpha { z *= alpha }
        var y = z * scale + shift
        if let signShift { y += signShift }
        return y < 0
    }

    /// ``threshold(scale:shift:k:)`` for a method's chain (see
    /// ``floatSignBit(x:k:alpha:scale:shift:signShift:)``). With `alpha >= 0` the predicate
    /// stays monotone in the popcount, so the same boundary search applies.
    public static func threshold(alpha: Float?, scale: Float, shift: Float, signShift: Float?, k: Int) -> (threshold: Int32, flip: UInt8) {
        if alpha == nil && signShift == nil { return threshold(scale: scale, shift: shift, k: k) }
        let a = Double(alpha ?? 1)
        let (t0, flip) = BinaryKernels.foldThreshold(scale: a * Double(scale), bias: Double(shift) + Double(signShift ?? 0), k: k)
        let t = boundary(from: t0, flip: flip, k: k) {
            floatSignBit(x: $0, k: k, alpha: alpha, scale: scale, shift: shift, signShift: signShift)
        }
        return (t, flip)
    }

    /// The integer rule of `BinaryKernels.gemmThreshold` for one output channel that gives
    /// exactly the bit the Float training path gives (``floatSignBit(x:k:scale:shift:)``) for
    /// every XOR-popcount `x` in `0...k`.
    ///
    /// Starts from `BinaryKernels.foldThreshold` (exact real arithmetic) and moves the
    /// threshold to where the Float predicate actually changes: rounding of `z * scale` and of
    /// the sum can move a value lying within an ulp of zero to the other side. The Float
    /// predicate is monotone in `x` (rounding is monotone), non-decreasing for `scale > 0`
    /// (flip 0: bit = `x > threshold`) and non-increasing for `scale < 0` (flip 1: bit =
    /// `x < threshold`), so fixing the boundary fixes every `x`.
    public static func threshold(scale: Float, shift: Float, k: Int) -> (threshold: Int32, flip: UInt8) {
        let (t0, flip) = BinaryKernels.foldThreshold(scale: Double(scale), bias: Double(shift), k: k)
        return (boundary(from: t0, flip: flip, k: k) { floatSignBit(x: $0, k: k, scale: scale, shift: shift) }, flip)
    }

    /// Moves a threshold from its exact-arithmetic start `t0` to where the monotone Float
    /// predicate `neg` (bit 1 for popcount `x`) actually changes.
    static func boundary(from t0: Int32, flip: UInt8, k: Int, _ neg: (Int) -> Bool) -> Int32 {
        var t = Int(t0)
        if flip == 0 {
            // Bit 1 exactly for x in (t, k]: neg(t) false (or t == -1), neg(t + 1) true (or t == k).
            while t >= 0 && neg(t) { t -= 1 }
            while t < k && !neg(t + 1) { t += 1 }
        } else {
            // Bit 1 exactly for x in [0, t): neg(t - 1) true (or t == 0), neg(t) false (or t == k + 1).
            while t > 0 && !neg(t - 1) { t -= 1 }
            while t <= k && neg(t) { t += 1 }
        }
        return Int32(t)
    }

    /// Per-channel thresholds and flips for a folded batch norm + sign after a binary layer
    /// with `k`-bit dot products.
    static func thresholds(alpha: [Float]? = nil, scale: [Float], shift: [Float], signShift: [Float]? = nil,
                           k: Int) -> (thresholds: [Int32], flips: [UInt8]) {
        var t = [Int32](), f = [UInt8]()
        t.reserveCapacity(scale.count); f.reserveCapacity(scale.count)
        for j in 0..<scale.count {
            let r = threshold(alpha: alpha?[j], scale: scale[j], shift: shift[j], signShift: signShift?[j], k: k)
            t.append(r.threshold); f.append(r.flip)
        }
        return (t, f)
    }

    /// Combines a pooling window of per-pixel output bits into the bit of
    /// `sign(BN(max over the window of z))`, per channel.
    ///
    /// With the Float predicate `P(z) = BN(z) < 0` monotone in `z`:
    /// - flip 0 (`scale >= 0`): `P` is true for small `z`, and `max z` is small iff every `z`
    ///   is, so the pooled bit is the AND of the window's bits;
    /// - flip 1 (`scale < 0`): `P` is true for large `z`, and `max z` is large iff some `z`
    ///   is, so the pooled bit is the OR.
    /// Returns, per output word, the mask of channels that use AND (the others use OR).
    static func poolAndMasks(flips: [UInt8]) -> [UInt64] {
        var masks = [UInt64](repeating: 0, count: BinaryKernels.words(forBits: flips.count))
        for (j, f) in flips.enumerated() where f == 0 { masks[j >> 6] |= 1 << UInt64(j & 63) }
        return masks
    }
}
