import XCTest
import BennData
import BennEnsemble
import BennTensor
import BennTrain

final class EnsembleStateTests: XCTestCase {
    func spec(_ strategy: TrainingSpec.Strategy, members: Int, start: TrainingSpec.Start = .independent) -> TrainingSpec {
        var s = TrainingSpec()
        s.model = "tinymlp"
        s.seed = 3
        s.ensemble.strategy = strategy
        s.ensemble.members = members
        s.ensemble.start = start
        return s
    }

    func result(_ m: Int, misses: [Bool]? = nil) -> MemberResult {
        MemberResult(member: m, tensors: [:], history: [], trainingMisses: misses, seconds: 0)
    }

    func testBaggingMembersAreIndependentWithDistinctBootstraps() {
        var state = EnsembleState(spec: spec(.bagging, members: 3), trainingCount: 10, classes: 10)
        let jobs = state.readyJobs()
        XCTAssertEqual(jobs.map(\.member), [0, 1, 2])
        XCTAssertEqual(Set(jobs.map(\.memberSeed)).count, 3)
        XCTAssertEqual(jobs[0].memberSeed, 3, "member 0 trains with the ensemble's own seed")
        XCTAssertEqual(state.readyJobs(running: [0, 2]).map(\.member), [1])
        XCTAssertEqual(state.apply(result(1)), .accepted)
        XCTAssertEqual(state.apply(result(1)), .duplicate, "a result is applied once")
        XCTAssertEqual(state.readyJobs().map(\.member), [0, 2])
        _ = state.apply(result(0)); _ = state.apply(result(2))
        XCTAssertTrue(state.isComplete)
        XCTAssertEqual(state.members.map(\.member), [0, 1, 2])
        XCTAssertEqual(state.apply(result(2)), .duplicate)
    }

    func testSequentialBaggingWaitsForThePreviousMember() {
        var state = EnsembleState(spec: spec(.bagging, members: 3, start: .sequential), trainingCount: 10, classes: 10)
        XCTAssertEqual(state.readyJobs().map(\.member), [0])
        XCTAssertNil(state.readyJobs()[0].warmStartFrom)
        _ = state.apply(result(0))
        XCTAssertEqual(state.readyJobs().map(\.member), [1])
        XCTAssertEqual(state.readyJobs()[0].warmStartFrom, 0)
    }

    func testBoostingRoundsInOrderWithUpdatedWeights() throws {
        var state = EnsembleState(spec: spec(.boosting, members: 3), trainingCount: 4, classes: 3)
        let first = try XCTUnwrap(state.readyJobs().first)
        XCTAssertEqual(state.readyJobs().count, 1)
        guard case let .resample(w0, _) = first.sampling else { return XCTFail("boosting resamples by default") }
        XCTAssertEqual(w0, [0.25, 0.25, 0.25, 0.25])
        XCTAssertTrue(first.needsTrainingMisses)
        XCTAssertEqual(state.apply(result(0, misses: [true, false, false, false])), .accepted)
        let second = try XCTUnwrap(state.readyJobs().first)
        XCTAssertEqual(second.member, 1)
        guard case let .resample(w1, _) = second.sampling else { return XCTFail() }
        XCTAssertEqual(w1[0], 6.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(state.members[0].alpha, log(6.0), accuracy: 1e-12)
        // A member without its misses cannot be applied.
        if case .rejected = state.apply(result(1)) {} else { XCTFail("misses are required") }
    }

    func testBoostingStopsOnChanceLevelMember() {
        var state = EnsembleState(spec: spec(.boosting, members: 5), trainingCount: 2, classes: 2)
        XCTAssertEqual(state.apply(result(0, misses: [true, false])), .rejected("weighted error 0.5 is no better than chance (0.5 for 2 classes)"))
        XCTAssertTrue(state.isComplete)
        XCTAssertTrue(state.readyJobs().isEmpty)
        XCTAssertTrue(state.stopReason!.contains("member 0 dropped"))
    }

    func testStateSurvivesJSON() throws {
        var state = EnsembleState(spec: spec(.boosting, members: 3), trainingCount: 4, classes: 3)
        _ = state.apply(result(0, misses: [true, false, false, false]))
        let data = try JSONEncoder().encode(state)
        XCTAssertEqual(try JSONDecoder().decode(EnsembleState.self, from: data), state)
    }
}

import Foundation
