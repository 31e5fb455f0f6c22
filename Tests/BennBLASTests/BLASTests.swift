import XCTest
import BennBLAS

final class BLASTests: XCTestCase {
    func testLibraryLoadsAndChosenKernelIsCorrect() {
        XCTAssertTrue(BLAS.isAvailable, BLAS.loadError ?? "")
        XCTAssertNil(BLAS.selfTest())
    }

    func testKernelMatchesTheCPU() throws {
        let f = CPUFeatures.current
        guard ProcessInfo.processInfo.environment["BENN_BLAS_CORE"] == nil else { throw XCTSkip("core forced by BENN_BLAS_CORE") }
        if f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq {
            XCTAssertEqual(BLAS.coreName, "SkylakeX", "an AVX-512 CPU must not run a narrower kernel (\(BLAS.coreChoice))")
        } else if f.avx2 && f.fma {
            XCTAssertNotEqual(BLAS.coreName, "Prescott")
        }
    }

    func testRowMajorProductWithTransposes() {
        // A = [[1,2,3],[4,5,6]] (2x3), B = [[1,0],[0,1],[1,1]] (3x2): AB = [[4,5],[10,11]].
        let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [1, 0, 0, 1, 1, 1]
        var c = [Float](repeating: 1, count: 4)
        BLAS.sgemm(.none, .none, m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, beta: 1, c: &c, ldc: 2)
        XCTAssertEqual(c, [5, 6, 11, 12])
        // Aᵀ stored as 3x2 and read transposed gives the same product.
        let at: [Float] = [1, 4, 2, 5, 3, 6]
        var d = [Float](repeating: 0, count: 4)
        BLAS.sgemm(.transpose, .none, m: 2, n: 2, k: 3, a: at, lda: 2, b: b, ldb: 2, c: &d, ldc: 2)
        XCTAssertEqual(d, [4, 5, 10, 11])
    }
}

import Foundation
