import XCTest
@testable import BennKernels

final class SelectionTests: XCTestCase {
    func testSupportedAndActive() {
        let supported = BinaryKernels.supported
        XCTAssertEqual(supported.first, .scalar)
        XCTAssertTrue(supported.contains(BinaryKernels.active))
        // Best last: the order of KernelPath.allCases is preserved.
        let order = supported.map { KernelPath.allCases.firstIndex(of: $0)! }
        XCTAssertEqual(order, order.sorted())
        if ProcessInfo.processInfo.environment["BENN_KERNEL_PATH"] == nil {
            XCTAssertEqual(BinaryKernels.active, supported.last)
            XCTAssertNil(BinaryKernels.selectionWarning)
        }
    }

    func testResolveSelection() {
        let all: [KernelPath] = [.scalar, .avx2, .avx512]
        XCTAssertEqual(KernelSelection.resolve(requested: nil, supported: all),
                       KernelSelection(path: .avx512, warning: nil))
        XCTAssertEqual(KernelSelection.resolve(requested: "", supported: all).path, .avx512)
        XCTAssertEqual(KernelSelection.resolve(requested: "avx2", supported: all),
                       KernelSelection(path: .avx2, warning: nil))
        XCTAssertEqual(KernelSelection.resolve(requested: "scalar", supported: [.scalar, .avx2]),
                       KernelSelection(path: .scalar, warning: nil))
        let unsupported = KernelSelection.resolve(requested: "avx512", supported: [.scalar, .avx2])
        XCTAssertEqual(unsupported.path, .avx2)
        XCTAssertNotNil(unsupported.warning)
        let unknown = KernelSelection.resolve(requested: "sve2", supported: [.scalar])
        XCTAssertEqual(unknown.path, .scalar)
        XCTAssertNotNil(unknown.warning)
    }

    /// On AArch64 the supported list is [scalar, neon]: neon is the default, scalar can be forced.
    func testResolveNEONSelection() {
        let arm: [KernelPath] = [.scalar, .neon]
        XCTAssertEqual(KernelSelection.resolve(requested: nil, supported: arm),
                       KernelSelection(path: .neon, warning: nil))
        XCTAssertEqual(KernelSelection.resolve(requested: " NEON\n", supported: arm),
                       KernelSelection(path: .neon, warning: nil))
        XCTAssertEqual(KernelSelection.resolve(requested: "scalar", supported: arm),
                       KernelSelection(path: .scalar, warning: nil))
        let x86onArm = KernelSelection.resolve(requested: "avx512", supported: arm)
        XCTAssertEqual(x86onArm.path, .neon)
        XCTAssertTrue(x86onArm.warning?.contains("not supported") ?? false, "\(String(describing: x86onArm.warning))")
        // Forcing neon on x86: a clear warning naming the requirement, best x86 path used.
        let neonOnX86 = KernelSelection.resolve(requested: "neon", supported: [.scalar, .avx2, .avx512])
        XCTAssertEqual(neonOnX86.path, .avx512)
        let w = neonOnX86.warning ?? ""
        XCTAssertTrue(w.contains("BENN_KERNEL_PATH=neon is not supported") && w.contains("AArch64")
                      && w.contains("supported: scalar, avx2, avx512"), w)
    }

    /// neon is available exactly on AArch64 builds, the x86 SIMD paths never there.
    func testNEONAvailabilityMatchesArchitecture() {
        let supported = BinaryKernels.supported
        #if arch(arm64)
        XCTAssertTrue(supported.contains(.neon))
        XCTAssertFalse(supported.contains(.avx2) || supported.contains(.avx512))
        #else
        XCTAssertFalse(supported.contains(.neon))
        #endif
        XCTAssertEqual(KernelPath.allCases.map(\.rawValue), ["scalar", "avx2", "avx512", "neon"])
        XCTAssertEqual(Set(KernelPath.allCases.map(\.cValue)).count, KernelPath.allCases.count)
    }

    /// Forcing each path by parameter works (same result everywhere).
    func testForcingEachPath() {
        let a: [UInt64] = [0b1011, 0b0110], b: [UInt64] = [0b1001, 0b1111, 0]
        var ref: [Float]? = nil
        for path in BinaryKernels.supported {
            var out = [Float](repeating: 0, count: 6)
            BinaryKernels.gemm(a: a, lda: 1, b: b, ldb: 1, m: 2, n: 3, words: 1, k: 4, out: &out, ldc: 3, path: path)
            // a0 = 1011 vs 1001: 1 diff -> 2; vs 1111: 1 -> 2; vs 0000: 3 -> -2
            // a1 = 0110 vs 1001: 4 -> -4; vs 1111: 2 -> 0; vs 0000: 2 -> 0
            XCTAssertEqual(out, [2, 2, -2, -4, 0, 0], "path \(path)")
            if let r = ref { XCTAssertEqual(out, r) }
            ref = out
        }
    }
}
