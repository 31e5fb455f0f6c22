import XCTest
import BennNN
@testable import BennTrain

final class TrainingSpecFieldsTests: XCTestCase {
    /// Every method option is named as a spec file writes it, so a difference can be pasted
    /// back into a spec.
    func testEveryMethodOptionIsNamedByItsSpecKey() throws {
        let properties = Mirror(reflecting: MethodSpec()).children.compactMap(\.label).filter { $0 != "name" }
        XCTAssertGreaterThan(properties.count, 20)
        let spelled = Set(properties.map { String(TrainingSpec.specKey(["method", $0]).dropFirst("method_options.".count)) })
        let valid = Set(MethodSpec.Name.allCases.flatMap(MethodSpec.optionKeys(for:)))
        XCTAssertTrue(spelled.isSubset(of: valid), "not spec keys: \(spelled.subtracting(valid).sorted())")
        var set = MethodSpec(.sdbnn)
        set.edeMinimumTemperature = 0.5
        set.twoStep = true
        var spec = TrainingSpec()
        spec.method = set
        let named = spec.fieldsBySpecKey
        XCTAssertEqual(named["method_options.ede_min_temperature"], "0.5")
        XCTAssertEqual(named["method_options.two_step"], "true")
        XCTAssertEqual(named["method"], "sdbnn")
    }

    /// Differences in spec-file keys, in the order a spec file lists them, unset options
    /// named as such: the words `bench methods --twin` and `compare` use.
    func testDifferencesAreNamedBySpecKeyInSpecOrder() {
        let table = TrainingSpec()
        var twin = table
        twin.seed = 4
        twin.train.epochs = 3
        twin.data.limit = 100
        twin.method = MethodSpec(.xnor)
        twin.method.blockOrder = .xnor
        XCTAssertEqual(table.differences(in: twin, calling: "the table's"),
                       ["method is xnor, the table's bnn", "method_options.block_order is xnor, the table's unset", "seed is 4, the table's 0",
                        "data.limit is 100, the table's 0", "train.epochs is 3, the table's 1"])
        XCTAssertEqual(table.differences(in: table, calling: "the table's"), [])
    }

    /// Every key, set or not: an unset option is a key too.
    func testSpecKeysIncludeUnsetOptions() {
        let keys = TrainingSpec.specKeys
        XCTAssertEqual(Array(keys.prefix(2)), ["model", "method"])
        for key in ["method_options.teacher", "method_options.resnet_downsample", "threads", "seed", "train.learning_rate", "data.limit"] {
            XCTAssertTrue(keys.contains(key), key)
        }
        XCTAssertEqual(Set(keys).count, keys.count)
        XCTAssertTrue(Set(TrainingSpec().fieldsBySpecKey.keys).isSubset(of: Set(keys)))
    }
}
