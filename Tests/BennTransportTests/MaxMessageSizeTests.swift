import XCTest
@testable import BennTransport

final class MaxMessageSizeTests: XCTestCase {
    func testOversizedMessageIsDroppedAndServiceContinues() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.setMaxMessageSize(4096)
        let endpoint = try bindEphemeral(router)

        let offender = try ZMQSocket(context: context, type: .dealer)
        try offender.setRoutingID(Array("offender".utf8))
        try offender.setReconnectInterval(milliseconds: 20)
        try offender.connect(endpoint)
        let honest = try ZMQSocket(context: context, type: .dealer)
        try honest.setRoutingID(Array("honest".utf8))
        try honest.connect(endpoint)

        // Under the limit: delivered.
        try offender.send([Array(repeating: 7, count: 4000)])
        XCTAssertEqual(try router.receive(timeoutMilliseconds: 2000)?.last?.count, 4000)

        // Over the limit: the receiver gets nothing and drops that connection.
        try offender.send([Array(repeating: 7, count: 64 * 1024)])
        XCTAssertNil(try router.receive(timeoutMilliseconds: 300)?.map(\.count), "frame sizes of an unexpected delivery")

        // Other peers are still served.
        try honest.send([Array("after".utf8)])
        XCTAssertEqual(try router.receive(timeoutMilliseconds: 2000), [Array("honest".utf8), Array("after".utf8)])

        // The offender reconnects and its later normal messages get through.
        var seen: [[UInt8]]?
        for _ in 0..<50 where seen == nil {
            try offender.send([Array("small".utf8)])
            seen = try router.receive(timeoutMilliseconds: 100)
        }
        XCTAssertEqual(seen, [Array("offender".utf8), Array("small".utf8)])
        while let extra = try router.receive(timeoutMilliseconds: 50) {
            XCTAssertEqual(extra.last, Array("small".utf8), "only retries of the small message arrive, never the big one")
        }
    }

    func testLimitAppliesPerFrame() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.setMaxMessageSize(4096)
        let endpoint = try bindEphemeral(router)
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.connect(endpoint)
        // Three 3000-byte frames: 9000 bytes in total, each frame under the limit.
        let frames = Array(repeating: [UInt8](repeating: 1, count: 3000), count: 3)
        try dealer.send(frames)
        XCTAssertEqual(try router.receive(timeoutMilliseconds: 2000)?.dropFirst().map(\.count), [3000, 3000, 3000])
    }
}
