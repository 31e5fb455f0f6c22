import CBennKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bit-packed binary kernels: packing, XOR-popcount GEMM, fused threshold output and packed
/// im2col.
///
/// Encoding (as in Larq Compute Engine): bit 1 means -1, bit 0 means +1, i.e. bit = 1 iff the
/// value is < 0, so `sign(0) = +1`. Rows are packed into 64-bit words, element `j` of a row in
/// bit `j % 64` of word `j / 64`, and the unused tail bits of the last word are zero. For two
/// packed ±1 vectors of `k` elements, `dot = k - 2 * popcount(a XOR b)`.
///
/// Every function takes a `path` (default ``active``); passing a path that is not in
/// ``supported`` is a precondition failure.
public enum BinaryKernels {
    /// Paths this CPU can run, best last. Always contains ``KernelPath/scalar``.
    public static var supported: [KernelPath] { supportedPaths }

    /// The path used by default, chosen once at first use: the environment variable
    /// `BENN_KERNEL_PATH` (`scalar`, `avx2` or `avx512`) if it is set and names a supported
    /// path; otherwise the best supported path (and, if the variable was set to something
    /// unusable, ``selectionWarning`` says so).
    public static var active: KernelPath { selection.path }

    /// Why `BENN_KERNEL_PATH` was ignored, or `nil` if it was unset or honoured.
    public static var selectionWarning: String? { selection.warning }

    /// Words of 64 bits needed for `bits` elements.
    @inlinable
    public static func words(forBits bits: Int) -> Int {
        precondition(bits >= 0, "bit count must be >= 0")
        return (bits + 63) >> 6
    }

    private static let supportedPaths: [KernelPath] =
        KernelPath.allCases.filter { benn_path_supported($0.cValue) != 0 }

    private static let selection: KernelSelection = {
        let value = getenv("BENN_KERNEL_PATH").map { String(cString: $0) }
        return KernelSelection.resolve(requested: value, supported: supportedPaths)
    }()

    /// Traps unless `path` can run on this CPU.
    @usableFromInline
    static func checkSupported(_ path: KernelPath) {
        precondition(supportedPaths.contains(path),
                     "kernel path \(path.rawValue) is not supported on this CPU (supported: \(supportedPaths.map(\.rawValue)))")
    }
}
