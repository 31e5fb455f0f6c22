import XCTest
import BennEnsemble
import BennTrain

final class BoostingTests: XCTestCase {
    func testSAMMEOnAHandMadeCase() {
        // 4 samples, uniform weights, sample 0 missed: ε = 1/4, C = 3.
        let w = [0.25, 0.25, 0.25, 0.25], misses = [true, false, false, false]
        XCTAssertEqual(Boosting.weightedError(weights: w, misses: misses), 0.25)
        let alpha = log(3.0) + log(2.0)  // ln((1-ε)/ε) + ln(C-1) = ln 3 + ln 2 = ln 6
        guard case let .next(a, next) = Boosting.round(rule: .samme, weights: w, misses: misses, classes: 3) else {
            return XCTFail("expected a next round")
        }
        XCTAssertEqual(a, alpha, accuracy: 1e-12)
        // The miss is multiplied by e^α = 6, then all renormalised: [6, 1, 1, 1] / 9.
        XCTAssertEqual(next[0], 6.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(next[1], 1.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(next.reduce(0, +), 1, accuracy: 1e-12)
    }

    func testWeightedErrorUsesWeights() {
        XCTAssertEqual(Boosting.weightedError(weights: [0.7, 0.1, 0.2], misses: [false, true, true]), 0.3, accuracy: 1e-12)
    }

    func testChanceLevelMemberIsRejected() {
        // C = 2: chance is ε = 0.5; a member at 0.5 is dropped and boosting stops.
        let outcome = Boosting.round(rule: .samme, weights: [0.5, 0.5], misses: [true, false], classes: 2)
        guard case let .reject(reason) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(reason.contains("no better than chance"), reason)
        // C = 10: chance is 0.9, so ε = 0.5 is still useful (SAMME's point).
        guard case .next = Boosting.round(rule: .samme, weights: [0.5, 0.5], misses: [true, false], classes: 10) else {
            return XCTFail("ε = 0.5 must be accepted for 10 classes")
        }
    }

    func testPerfectMemberStopsBoostingButIsKept() {
        let outcome = Boosting.round(rule: .samme, weights: [0.5, 0.5], misses: [false, false], classes: 10)
        guard case let .stopAfter(alpha, reason) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(alpha.isFinite && alpha > 20)
        XCTAssertTrue(reason.contains("no errors"))
    }

    func testReferenceRules() {
        let w = [0.25, 0.25, 0.25, 0.25], misses = [true, false, false, false]
        let half = 0.5 * log(3.0)
        // BoostA: two-sided, α = ½ ln 3: miss × √3, hits × 1/√3.
        guard case let .next(a, n) = Boosting.round(rule: .adaboost, weights: w, misses: misses, classes: 10) else { return XCTFail() }
        XCTAssertEqual(a, half, accuracy: 1e-12)
        XCTAssertEqual(n[0] / n[1], 3, accuracy: 1e-9)
        // BoostD: α = 0.1(ln 3 + ln 9), two-sided.
        guard case let .next(d, nd) = Boosting.round(rule: .sammeShrunk, weights: w, misses: misses, classes: 10) else { return XCTFail() }
        XCTAssertEqual(d, 0.1 * (log(3.0) + log(9.0)), accuracy: 1e-12)
        XCTAssertEqual(nd[0] / nd[1], exp(2 * d), accuracy: 1e-9)
        // BoostB: logit(w) moves by ±α before normalisation.
        guard case let .next(_, nb) = Boosting.round(rule: .logistic, weights: w, misses: misses, classes: 10) else { return XCTFail() }
        let up = 1 / (1 + 3 * exp(-half)), down = 1 / (1 + 3 * exp(half))
        XCTAssertEqual(nb[0] / nb[1], up / down, accuracy: 1e-9)
        // BoostC: stays a valid distribution.
        guard case let .next(_, nc) = Boosting.round(rule: .mild, weights: w, misses: misses, classes: 2) else { return XCTFail() }
        XCTAssertEqual(nc.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertTrue(nc.allSatisfy { $0 >= 0 })
        XCTAssertGreaterThan(nc[0], nc[1])
    }

    func testAggregationRules() {
        // Two members, two samples, three classes.
        let m1: [Float] = [3, 0, 0, 0, 1, 2], m2: [Float] = [0, 2, 0, 0, 5, 0]
        // Soft over raw outputs: sample 0 → [3,2,0] → 0; sample 1 → [0,6,2] → 1.
        XCTAssertEqual(Aggregator.predictions(Aggregator.combine([m1, m2], weights: [1, 1], classes: 3, rule: .softLogits), classes: 3), [0, 1])
        // Weights change the vote: member 2 weighted 2 → sample 0 scores [3,4,0] → 1.
        XCTAssertEqual(Aggregator.predictions(Aggregator.combine([m1, m2], weights: [1, 2], classes: 3, rule: .softLogits), classes: 3), [1, 1])
        // Hard vote, ties to the lowest class: sample 0 votes {0, 1} → 0.
        XCTAssertEqual(Aggregator.predictions(Aggregator.combine([m1, m2], weights: [1, 1], classes: 3, rule: .hard), classes: 3), [0, 1])
        let p = Aggregator.combine([m1], weights: [1], classes: 3, rule: .softProbabilities)
        XCTAssertEqual(p[0] + p[1] + p[2], 1, accuracy: 1e-9)
        XCTAssertEqual(Aggregator.prefixAccuracies([m1, m2], weights: [1, 2], labels: [1, 1], classes: 3, rule: .softLogits), [0.0, 1.0])
    }
}
