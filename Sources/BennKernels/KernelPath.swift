import CBennKernels

/// An implementation of the binary kernels, selected at run time.
///
/// Every path computes bit-identical results; they differ only in speed and in the CPU
/// features they need. `scalar` always runs (it uses the `popcnt` instruction when the CPU has
/// it and a portable bit-trick popcount otherwise), `avx2` needs AVX2 + POPCNT and `avx512`
/// needs AVX-512F, AVX-512BW and AVX-512 VPOPCNTDQ (x86-64 only); `neon` is the AArch64
/// Advanced SIMD path (`vcntq_u8` popcount), baseline on every AArch64 CPU and never available
/// on x86-64. `allCases` lists the paths best last within each architecture.
public enum KernelPath: String, CaseIterable, Codable, Sendable {
    case scalar, avx2, avx512, neon

    /// The matching `BENN_PATH_*` constant of the C kernels.
    var cValue: Int32 {
        switch self {
        case .scalar: return Int32(BENN_PATH_SCALAR)
        case .avx2: return Int32(BENN_PATH_AVX2)
        case .avx512: return Int32(BENN_PATH_AVX512)
        case .neon: return Int32(BENN_PATH_NEON)
        }
    }

    /// What a CPU (and build) needs to run this path, for messages about unsupported paths.
    var requirement: String {
        switch self {
        case .scalar: return "any CPU"
        case .avx2: return "an x86-64 CPU with AVX2 and POPCNT"
        case .avx512: return "an x86-64 CPU with AVX-512F, AVX-512BW and AVX-512 VPOPCNTDQ"
        case .neon: return "an AArch64 (ARM64) CPU"
        }
    }

    /// Whether the SIMD kernels of this path read B through the column-panel layout.
    var usesPanels: Bool { self != .scalar }
}
