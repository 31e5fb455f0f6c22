import XCTest
import BennRandom

final class SeededGeneratorTests: XCTestCase {
    func testSameSeedSameStream() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
        for _ in 0..<1000 { XCTAssertEqual(a.next(), b.next()) }
    }

    func testDifferentSeedsDiffer() {
        var a = SeededGenerator(seed: 1), b = SeededGenerator(seed: 2)
        let same = (0..<100).filter { _ in a.next() == b.next() }.count
        XCTAssertEqual(same, 0)
    }

    func testSplitIsIndependentOfParentPosition() {
        let parent = SeededGenerator(seed: 7)
        var advanced = parent
        for _ in 0..<10 { _ = advanced.next() }
        var c1 = parent.split(3), c2 = SeededGenerator(seed: 7).split(3)
        XCTAssertEqual(c1.next(), c2.next())
        var d1 = parent.split(3), d2 = parent.split(4)
        XCTAssertNotEqual(d1.next(), d2.next())
    }

    func testNextIntBoundsAndCoverage() {
        var g = SeededGenerator(seed: 9)
        var seen = [Int](repeating: 0, count: 7)
        for _ in 0..<7000 {
            let v = g.nextInt(below: 7)
            XCTAssert((0..<7).contains(v))
            seen[v] += 1
        }
        XCTAssert(seen.allSatisfy { $0 > 800 && $0 < 1200 }, "\(seen)")
    }

    func testFloatRangeAndNormalMoments() {
        var g = SeededGenerator(seed: 11)
        var sum = 0.0, sq = 0.0
        let n = 20000
        for _ in 0..<n {
            let f = g.nextFloat()
            XCTAssert(f >= 0 && f < 1)
            let z = Double(g.normal())
            sum += z; sq += z * z
        }
        XCTAssertEqual(sum / Double(n), 0, accuracy: 0.03)
        XCTAssertEqual(sq / Double(n), 1, accuracy: 0.05)
    }

    func testPermutationIsAPermutationAndReproducible() {
        var g1 = SeededGenerator(seed: 5), g2 = SeededGenerator(seed: 5)
        let p = g1.permutation(100)
        XCTAssertEqual(p.sorted(), Array(0..<100))
        XCTAssertEqual(p, g2.permutation(100))
        XCTAssertNotEqual(p, Array(0..<100))
    }
}
