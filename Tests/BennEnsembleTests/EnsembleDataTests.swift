import XCTest
import BennData
import BennEnsemble
import BennTrain

/// Building the data views from a spec: a spec that leaves nothing to train on is a
/// `SpecError` naming the keys, never a trap or an empty view.
final class EnsembleDataTests: XCTestCase {
    func make(_ change: (inout TrainingSpec) -> Void) throws -> EnsembleData {
        var s = TrainingSpec()
        s.model = "tinymlp"
        change(&s)
        return try EnsembleData.make(spec: s, trainImages: syntheticImages(count: 48, seed: 1), testImages: syntheticImages(count: 20, seed: 2))
    }

    func testViewsFollowLimitAndHoldOut() throws {
        let d = try make { $0.data.limit = 30; $0.data.validation = 29; $0.data.testLimit = 7 }
        XCTAssertEqual(d.training.count, 1)
        XCTAssertEqual(d.validation?.count, 29)
        XCTAssertEqual(d.test?.count, 7)
    }

    func testLimitThatLeavesNoTrainingDataIsASpecError() {
        XCTAssertThrowsError(try make { $0.data.limit = 30; $0.data.validation = 30 }) { error in
            XCTAssertTrue(error is SpecError, "\(type(of: error)): \(error)")
            XCTAssertEqual("\(error)", "data.validation (30) must leave at least one training sample of the 30 that data.limit keeps")
        }
        XCTAssertThrowsError(try make { $0.data.validation = 48 }) { error in
            XCTAssertTrue("\(error)".hasPrefix("data.validation (48) must leave at least one training sample of the 48 in "), "\(error)")
        }
        XCTAssertThrowsError(try make { $0.data.cropPadding = 8 }) { error in
            XCTAssertEqual("\(error)", "data.crop_padding must be smaller than the images (8x8), got 8")
        }
    }
}
