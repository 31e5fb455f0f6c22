import XCTest
final class BennDataTestsPlaceholder: XCTestCase { func testNothing() {} }
