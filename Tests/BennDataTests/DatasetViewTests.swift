import BennRandom
import XCTest
@testable import BennData

final class DatasetViewTests: XCTestCase {
    func testAllAndSubset() throws {
        let s = try makeSet(count: 10)
        XCTAssertEqual(DatasetView.all(s).indices, Array(0..<10))
        XCTAssertNil(DatasetView.all(s).weights)
        let v = try DatasetView.subset(s, indices: [3, 3, 9], weights: [1, 2, 3])
        XCTAssertEqual(v.count, 3)
        XCTAssertEqual(v.labels, [3, 3, 9])
        let w = try v.subset(positions: [2, 0])
        XCTAssertEqual(w.indices, [9, 3])
        XCTAssertEqual(w.weights, [3, 1])
        XCTAssertEqual(expectDatasetError { try DatasetView.subset(s, indices: [10]) },
                       .indexOutOfRange(index: 10, count: 10))
        XCTAssertEqual(expectDatasetError { try DatasetView.subset(s, indices: [1, 2], weights: [1]) },
                       .weightCountMismatch(weights: 1, samples: 2))
        XCTAssertEqual(expectDatasetError { try v.subset(positions: [3]) }, .indexOutOfRange(index: 3, count: 3))
    }

    func testBootstrapReproducibleAndInRange() throws {
        let s = try makeSet(count: 50)
        let a = try DatasetView.bootstrap(s, count: 200, seed: 11)
        let b = try DatasetView.bootstrap(s, count: 200, seed: 11)
        let c = try DatasetView.bootstrap(s, count: 200, seed: 12)
        XCTAssertEqual(a.indices.count, 200)
        XCTAssertEqual(a.indices, b.indices)
        XCTAssertNotEqual(a.indices, c.indices)
        XCTAssertTrue(a.indices.allSatisfy { (0..<50).contains($0) })
        // With replacement: 200 draws from 50 must repeat, and should reach most samples.
        XCTAssertLessThan(Set(a.indices).count, 200)
        XCTAssertGreaterThan(Set(a.indices).count, 40)
        // From a sub-view: only that view's samples are drawn.
        let sub = try DatasetView.subset(s, indices: [5, 6, 7])
        XCTAssertTrue(try sub.bootstrap(count: 100, seed: 1).indices.allSatisfy { [5, 6, 7].contains($0) })
        XCTAssertEqual(expectDatasetError { try DatasetView.bootstrap(s, count: -1, seed: 1) }, .invalidSampleCount(-1))
        let empty = try DatasetView.subset(s, indices: [])
        XCTAssertNotNil(expectDatasetError { try empty.bootstrap(count: 3, seed: 1) })
        XCTAssertEqual(try empty.bootstrap(count: 0, seed: 1).count, 0)
    }

    func testWeightedResampleFollowsWeights() throws {
        let s = try makeSet(count: 5)
        var rng = SeededGenerator(seed: 3)
        let weights: [Double] = [0, 1, 0, 8, 1]
        let v = try DatasetView.weightedResample(s, weights: weights, count: 10_000, rng: &rng)
        var counts = [Int](repeating: 0, count: 5)
        for i in v.indices { counts[i] += 1 }
        XCTAssertEqual(counts[0], 0, "zero weight drawn")
        XCTAssertEqual(counts[2], 0, "zero weight drawn")
        XCTAssertEqual(counts.max(), counts[3])
        XCTAssertEqual(Double(counts[3]) / 10_000, 0.8, accuracy: 0.03)
        XCTAssertEqual(Double(counts[1]) / 10_000, 0.1, accuracy: 0.02)

        var r1 = SeededGenerator(seed: 9), r2 = SeededGenerator(seed: 9)
        XCTAssertEqual(try DatasetView.weightedResample(s, weights: weights, count: 50, rng: &r1).indices,
                       try DatasetView.weightedResample(s, weights: weights, count: 50, rng: &r2).indices)
        XCTAssertEqual(r1, r2)

        // A single positive weight at the end, and one at the start.
        var r = SeededGenerator(seed: 1)
        XCTAssertEqual(Set(try DatasetView.weightedResample(s, weights: [0, 0, 0, 0, 2], count: 100, rng: &r).indices), [4])
        XCTAssertEqual(Set(try DatasetView.weightedResample(s, weights: [1e-300, 0, 0, 0, 0], count: 100, rng: &r).indices), [0])
    }

    func testWeightedResampleRejectsBadWeights() throws {
        let s = try makeSet(count: 3)
        var rng = SeededGenerator(seed: 1)
        XCTAssertEqual(expectDatasetError { try DatasetView.weightedResample(s, weights: [1, 1], count: 1, rng: &rng) },
                       .weightCountMismatch(weights: 2, samples: 3))
        for bad: [Double] in [[0, 0, 0], [1, -1, 1], [1, .nan, 1], [1, .infinity, 1]] {
            guard case .invalidWeights? = expectDatasetError({
                try DatasetView.weightedResample(s, weights: bad, count: 1, rng: &rng)
            }) else { return XCTFail("expected invalidWeights for \(bad)") }
        }
    }
}
