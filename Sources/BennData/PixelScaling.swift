/// The input scaling of every benchmark model: a pixel byte `x` becomes `Float(x) / 127.5 - 1`,
/// so 0 maps to -1 and 255 to +1.
public enum PixelScaling {
    /// The scaled value of every byte, computed once: `table[x] == Float(x) / 127.5 - 1`.
    public static let table: [Float] = (0..<256).map { Float($0) / 127.5 - 1 }

    /// The scaled value of one pixel byte.
    @inline(__always)
    public static func scale(_ x: UInt8) -> Float { Float(x) / 127.5 - 1 }

    /// The scaled value of a zero pixel, used for padding: -1.
    public static let paddingValue: Float = -1
}
