import CBennKernels

/// An implementation of the binary kernels, selected at run time.
///
/// Every path computes bit-identical results; they differ only in speed and in the CPU
/// features they need. `scalar` always runs (it uses the `popcnt` instruction when the CPU has
/// it and a portable bit-trick popcount otherwise), `avx2` needs AVX2 + POPCNT and `avx512`
/// needs AVX-512F, AVX-512BW and AVX-512 VPOPCNTDQ.
public enum KernelPath: String, CaseIterable, Codable, Sendable {
    case scalar, avx2, avx512

    /// The matching `BENN_PATH_*` constant of the C kernels.
    var cValue: Int32 {
        switch self {
        case .scalar: return Int32(BENN_PATH_SCALAR)
        case .avx2: return Int32(BENN_PATH_AVX2)
        case .avx512: return Int32(BENN_PATH_AVX512)
        }
    }

    /// Whether the SIMD kernels of this path read B through the column-panel layout.
    var usesPanels: Bool { self != .scalar }
}
