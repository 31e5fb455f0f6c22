import XCTest
@testable import BennTransport

final class PollerTests: XCTestCase {
    func testPollOverTwoSockets() throws {
        let context = try ZMQContext()
        let routerA = try ZMQSocket(context: context, type: .router)
        let routerB = try ZMQSocket(context: context, type: .router)
        let endpointA = try bindEphemeral(routerA)
        let endpointB = try bindEphemeral(routerB)
        let dealerA = try ZMQSocket(context: context, type: .dealer)
        let dealerB = try ZMQSocket(context: context, type: .dealer)
        try dealerA.connect(endpointA)
        try dealerB.connect(endpointB)

        let poller = ZMQPoller()
        let a = poller.add(routerA)
        let b = poller.add(routerB)
        XCTAssertEqual(poller.count, 2)

        var quiet: [ZMQPollEvents] = []
        let ms = try elapsedMilliseconds { quiet = try poller.poll(timeoutMilliseconds: 100) }
        XCTAssertEqual(quiet, [[], []])
        XCTAssertGreaterThanOrEqual(ms, 90)

        try dealerB.send([Array("b".utf8)])
        var ready = try poller.poll(timeoutMilliseconds: 2000)
        XCTAssertEqual(ready[a], [])
        XCTAssertEqual(ready[b], .readable)
        XCTAssertEqual(try routerB.receive(timeoutMilliseconds: 0)?.last, Array("b".utf8))

        try dealerA.send([Array("a".utf8)])
        try dealerB.send([Array("b2".utf8)])
        var got: [String] = []
        while got.count < 2 {
            ready = try poller.poll(timeoutMilliseconds: 2000)
            XCTAssertTrue(ready.contains(.readable))
            if ready[a].contains(.readable), let m = try routerA.receive(timeoutMilliseconds: 0) {
                got.append(String(decoding: m.last!, as: UTF8.self))
            }
            if ready[b].contains(.readable), let m = try routerB.receive(timeoutMilliseconds: 0) {
                got.append(String(decoding: m.last!, as: UTF8.self))
            }
        }
        XCTAssertEqual(Set(got), ["a", "b2"])

        // Writable: a connected DEALER can send; reading interest is then not reported.
        poller.setEvents([.readable, .writable], at: a)
        ready = try poller.poll(timeoutMilliseconds: 0)
        XCTAssertEqual(ready[a], .writable, "a ROUTER is always writable, nothing to read")

        routerB.close()
        XCTAssertThrowsError(try poller.poll(timeoutMilliseconds: 0)) {
            XCTAssertEqual(($0 as? ZMQError)?.code, ENOTSOCK)
        }
    }
}
