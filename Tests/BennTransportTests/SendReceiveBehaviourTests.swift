import XCTest
@testable import BennTransport

final class SendReceiveBehaviourTests: XCTestCase {
    func testReceiveTimeoutReturnsNil() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        _ = try bindEphemeral(router)
        var result: [[UInt8]]? = [[1]]
        let ms = try elapsedMilliseconds { result = try router.receive(timeoutMilliseconds: 150) }
        XCTAssertNil(result)
        XCTAssertGreaterThanOrEqual(ms, 140)
        XCTAssertLessThan(ms, 1000)
        XCTAssertNil(try router.receive(timeoutMilliseconds: 0), "zero timeout polls")
    }

    func testNonBlockingSendWithoutPeer() throws {
        let context = try ZMQContext()
        // An endpoint nothing listens on. Not a TCP port bound and closed again: libzmq closes
        // a listener on its I/O thread after zmq_close returns, so under load the connection
        // below could still complete (seen in CI), and a freed ephemeral port can also be
        // reached by a TCP self-connect.
        let endpoint = "ipc://" + FileManager.default.temporaryDirectory
            .appendingPathComponent("benn-no-listener-\(getpid()).sock").path
        try? FileManager.default.removeItem(atPath: String(endpoint.dropFirst("ipc://".count)))

        // A socket with no connection at all cannot queue anything.
        let lonely = try ZMQSocket(context: context, type: .dealer)
        XCTAssertFalse(try lonely.send([[1]], dontWait: true))

        // With ZMQ_IMMEDIATE a DEALER queues only on completed connections: refused.
        let immediate = try ZMQSocket(context: context, type: .dealer)
        try immediate.setImmediate(true)
        try immediate.connect(endpoint)
        XCTAssertFalse(try immediate.send([[1], [2]], dontWait: true))

        // Without it, libzmq queues for the pending connection (up to the HWM).
        let queued = try ZMQSocket(context: context, type: .dealer)
        try queued.setSendHighWaterMark(2)
        try queued.connect(endpoint)
        XCTAssertTrue(try queued.send([[1]], dontWait: true))
        XCTAssertTrue(try queued.send([[2]], dontWait: true))
        XCTAssertFalse(try queued.send([[3]], dontWait: true), "HWM reached")

        XCTAssertThrowsError(try queued.send([])) { XCTAssertEqual(($0 as? ZMQError)?.code, EINVAL) }
    }

    func testRouterMandatoryReportsUnknownPeer() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.setRouterMandatory(true)
        _ = try bindEphemeral(router)
        XCTAssertThrowsError(try router.send([Array("ghost".utf8), [1]])) { error in
            XCTAssertTrue((error as? ZMQError)?.isHostUnreachable ?? false, "\(error)")
        }
    }

    func testErrorsCarryEndpointAndStrerror() throws {
        let context = try ZMQContext()
        let a = try ZMQSocket(context: context, type: .router)
        let endpoint = try bindEphemeral(a)
        let b = try ZMQSocket(context: context, type: .router)
        XCTAssertThrowsError(try b.bind(endpoint)) { error in
            let e = try? XCTUnwrap(error as? ZMQError)
            XCTAssertEqual(e?.code, EADDRINUSE)
            XCTAssertEqual(e?.endpoint, endpoint)
            XCTAssertEqual(e?.operation, "zmq_bind")
            XCTAssertTrue(e?.description.contains("Address already in use") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try b.connect("nonsense://x")) { error in
            XCTAssertEqual((error as? ZMQError)?.endpoint, "nonsense://x")
        }
        b.close()
        XCTAssertTrue(b.isClosed)
        XCTAssertThrowsError(try b.send([[1]])) { XCTAssertEqual(($0 as? ZMQError)?.code, ENOTSOCK) }
        try a.unbind(endpoint)
    }

    func testDisconnectStopsDelivery() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        let endpoint = try bindEphemeral(router)
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.setImmediate(true)
        try dealer.connect(endpoint)
        var delivered = false
        for _ in 0..<100 where !delivered {
            if try dealer.send([[1]], dontWait: true) { delivered = true } else { usleep(10_000) }
        }
        XCTAssertTrue(delivered)
        XCTAssertNotNil(try router.receive(timeoutMilliseconds: 1000))
        try dealer.disconnect(endpoint)
        // The pipe is torn down asynchronously; soon nothing can be queued any more.
        var refused = false
        for _ in 0..<200 where !refused {
            if try !dealer.send([[2]], dontWait: true) { refused = true } else { usleep(5_000) }
        }
        XCTAssertTrue(refused)
    }
}
