import XCTest
@testable import BennTransport

final class RoundTripTests: XCTestCase {
    func testDealerRouterMultipartRoundTripOverEphemeralTCP() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.setRouterMandatory(true)
        let endpoint = try bindEphemeral(router)
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.setRoutingID(Array("worker-7".utf8))
        XCTAssertEqual(try dealer.routingID(), Array("worker-7".utf8))
        try dealer.connect(endpoint)

        let binary: [UInt8] = [0, 1, 0, 0, 255, 0, 128, 0]
        let request: [[UInt8]] = [[], Array("BNNW/1".utf8), binary, [], [0], Array(repeating: 0, count: 4096)]
        XCTAssertTrue(try dealer.send(request))

        let received = try XCTUnwrap(router.receive(timeoutMilliseconds: 2000))
        XCTAssertEqual(received.first, Array("worker-7".utf8), "ROUTER prepends the sender's routing id")
        XCTAssertEqual(Array(received.dropFirst()), request, "frames, empty frames and zero bytes survive")

        let reply: [[UInt8]] = [received[0], [], Array("ok".utf8), [0, 0, 0], []]
        XCTAssertTrue(try router.send(reply))
        let back = try XCTUnwrap(dealer.receive(timeoutMilliseconds: 2000))
        XCTAssertEqual(back, Array(reply.dropFirst()), "ROUTER strips the routing id")
    }

    func testRequestReplyAndPairOverInproc() throws {
        let context = try ZMQContext()
        let rep = try ZMQSocket(context: context, type: .reply)
        try rep.bind("inproc://rr")
        let req = try ZMQSocket(context: context, type: .request)
        try req.connect("inproc://rr")
        try req.send([Array("ping".utf8), [1, 2]])
        XCTAssertEqual(try rep.receive(timeoutMilliseconds: 1000), [Array("ping".utf8), [1, 2]])
        try rep.send([Array("pong".utf8)])
        XCTAssertEqual(try req.receive(timeoutMilliseconds: 1000), [Array("pong".utf8)])
        // REQ out of turn: two sends without a receive is a state-machine error.
        try req.send([Array("one".utf8)])
        XCTAssertThrowsError(try req.send([Array("two".utf8)])) { error in
            XCTAssertEqual((error as? ZMQError)?.code, 156_384_763, "EFSM")  // ZMQ_HAUSNUMERO + 51
        }

        let a = try ZMQSocket(context: context, type: .pair)
        let b = try ZMQSocket(context: context, type: .pair)
        try a.bind("inproc://pair")
        try b.connect("inproc://pair")
        try a.send([[9]])
        XCTAssertEqual(try b.receive(timeoutMilliseconds: 1000), [[9]])
    }

    func testPublishSubscribeFiltersByPrefix() throws {
        let context = try ZMQContext()
        let pub = try ZMQSocket(context: context, type: .publisher)
        try pub.bind("inproc://pub")
        let sub = try ZMQSocket(context: context, type: .subscriber)
        try sub.subscribe(Array("job.".utf8))
        try sub.connect("inproc://pub")
        // Subscriptions propagate asynchronously; publish until the first one arrives.
        var got: [[UInt8]]?
        for _ in 0..<100 where got == nil {
            try pub.send([Array("other".utf8)])
            try pub.send([Array("job.done".utf8), [1]])
            got = try sub.receive(timeoutMilliseconds: 20)
        }
        XCTAssertEqual(got, [Array("job.done".utf8), [1]])
    }

    func testOptionsAreApplied() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        XCTAssertEqual(try socket.int32Option(ZMQ_LINGER_FOR_TESTS, "linger"), 0, "new sockets linger 0")
        try socket.setLinger(milliseconds: 250)
        try socket.setSendHighWaterMark(10)
        try socket.setReceiveHighWaterMark(20)
        try socket.setMaxMessageSize(1 << 20)
        try socket.setHeartbeat(intervalMilliseconds: 1000, timeoutMilliseconds: 3000, ttlMilliseconds: 5000)
        try socket.setReconnectInterval(milliseconds: 200, maxMilliseconds: 5000)
        try socket.setImmediate(true)
        try socket.setTCPKeepalive(TCPKeepalive(enabled: true, idleSeconds: 30, intervalSeconds: 5, count: 3))
        XCTAssertEqual(try socket.int32Option(ZMQ_LINGER_FOR_TESTS, "linger"), 250)
        XCTAssertEqual(try socket.int64Option(22, "maxmsgsize"), 1 << 20)
        XCTAssertEqual(try socket.int32Option(75, "heartbeat ivl"), 1000)
        XCTAssertEqual(try socket.int32Option(77, "heartbeat timeout"), 3000)
        XCTAssertEqual(try socket.int32Option(76, "heartbeat ttl"), 5000)
        XCTAssertEqual(try socket.int32Option(21, "reconnect ivl max"), 5000)
        XCTAssertEqual(try socket.int32Option(39, "immediate"), 1)
        XCTAssertEqual(try socket.int32Option(36, "keepalive idle"), 30)
        // A bad value reports libzmq's text and the option.
        XCTAssertThrowsError(try socket.setRoutingID([])) { error in
            let e = error as? ZMQError
            XCTAssertEqual(e?.code, EINVAL)
            XCTAssertTrue(e?.description.contains("ZMQ_ROUTING_ID") ?? false, "\(error)")
        }
    }
}

/// `ZMQ_LINGER` (17); the tests avoid importing CZMQ.
let ZMQ_LINGER_FOR_TESTS: Int32 = 17
