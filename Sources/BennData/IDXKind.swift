/// The role of an IDX file in an image data set, which fixes the magic number it must carry.
public enum IDXKind: Sendable, Hashable, CaseIterable {
    /// Unsigned-byte images: magic `0x00000803`, dimensions `[count, height, width]`.
    case images
    /// Unsigned-byte labels: magic `0x00000801`, dimensions `[count]`.
    case labels

    /// The 32-bit big-endian magic number that starts a file of this kind.
    public var magic: UInt32 {
        switch self {
        case .images: return 0x0000_0803
        case .labels: return 0x0000_0801
        }
    }

    /// The number of dimensions the header must declare.
    public var dimensionCount: Int {
        switch self {
        case .images: return 3
        case .labels: return 1
        }
    }

    /// The kind whose magic is `magic`, if any.
    public init?(magic: UInt32) {
        guard let kind = IDXKind.allCases.first(where: { $0.magic == magic }) else { return nil }
        self = kind
    }

    var summary: String {
        switch self {
        case .images: return "unsigned-byte images, 3 dimensions"
        case .labels: return "unsigned-byte labels, 1 dimension"
        }
    }
}
