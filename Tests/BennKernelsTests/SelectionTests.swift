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
        let unknown = KernelSelection.resolve(requested: "neon", supported: [.scalar])
        XCTAssertEqual(unknown.path, .scalar)
        XCTAssertNotNil(unknown.warning)
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
