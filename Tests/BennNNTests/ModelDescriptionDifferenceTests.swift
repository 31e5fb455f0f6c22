import XCTest
import BennNN

/// `ModelDescription.firstDifference`: the place a refused checkpoint's model and the spec's
/// model part, named as `Sequential` names layers.
final class ModelDescriptionDifferenceTests: XCTestCase {
    func testEqualDescriptionsHaveNoDifference() throws {
        for name in MethodSpec.Name.allCases {
            let a = try ModelZoo.description(named: "breal18", method: MethodSpec(name))
            XCTAssertNil(a.firstDifference(from: try ModelZoo.description(named: "breal18", method: MethodSpec(name))), "\(name)")
        }
    }

    /// The case a default change makes: one model name, one shortcut changed, found inside
    /// the first stride-2 residual's shortcut.
    func testDifferenceInsideAShortcutIsNamedByItsLayer() throws {
        var method = MethodSpec(.bireal)
        method.resnetDownsample = .strided
        let strided = try ModelZoo.description(named: "breal18", method: method)
        method.resnetDownsample = .averagePool
        let pooled = try ModelZoo.description(named: "breal18", method: method)
        let firstProjection = try XCTUnwrap(strided.layers.firstIndex {
            if case let .residual(_, shortcut) = $0 { return !shortcut.isEmpty }
            return false
        })
        let d = try XCTUnwrap(strided.firstDifference(from: pooled))
        XCTAssertEqual(d.location, "layer l\(firstProjection).short0")
        XCTAssertEqual(d.left, "\(LayerSpec.conv(filters: 32, kernel: 1, stride: 2, same: false, binaryWeights: false))")
        XCTAssertEqual(d.right, "\(LayerSpec.averagePoolCoveringEdges(size: 2))")
        XCTAssertEqual(pooled.firstDifference(from: strided)?.left, d.right)
    }

    func testDifferenceInsideABodyAndInTopLevelFields() throws {
        let base = try ModelZoo.description(named: "tinyres", method: MethodSpec(.bireal), inputShape: [8, 8, 1])
        let index = try XCTUnwrap(base.layers.firstIndex { if case .residual = $0 { return true } else { return false } })
        guard case let .residual(body, shortcut) = base.layers[index] else { return XCTFail("not a residual") }
        var changed = base
        changed.layers[index] = .residual(body: body.dropLast() + [.relu], shortcut: shortcut)
        XCTAssertEqual(base.firstDifference(from: changed),
                       ModelDifference(location: "layer l\(index).body\(body.count - 1)", left: "\(body.last!)", right: "relu"))

        var shorter = base
        shorter.layers.removeLast()
        XCTAssertEqual(base.firstDifference(from: shorter),
                       ModelDifference(location: "layers in the model", left: "\(base.layers.count)", right: "\(base.layers.count - 1)"))
        var classes = base
        classes.classes = 7
        XCTAssertEqual(base.firstDifference(from: classes), ModelDifference(location: "classes", left: "10", right: "7"))
        let other = try ModelZoo.description(named: "tinyres", method: MethodSpec(.bnn), inputShape: [8, 8, 1])
        XCTAssertEqual(base.firstDifference(from: other)?.location, "name")
    }
}
