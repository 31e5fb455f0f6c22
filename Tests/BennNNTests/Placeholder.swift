import XCTest
final class BennNNTestsPlaceholder: XCTestCase { func testNothing() {} }
