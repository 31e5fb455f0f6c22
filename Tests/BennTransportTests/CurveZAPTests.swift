import XCTest
@testable import BennTransport

final class CurveZAPTests: XCTestCase {
    /// A CURVE ROUTER echo server plus the ZAP handler guarding it, all on one context.
    struct Server {
        let context: ZMQContext
        let keys: CurveKeyPair
        let auth: ZAPAuthenticator
        let router: ZMQSocket
        let endpoint: String
        let decisions: Collector<ZAPDecision>

        init(allowed: Set<String>) throws {
            context = try ZMQContext()
            keys = try CurveKeyPair.generate()
            let decisions = Collector<ZAPDecision>()
            self.decisions = decisions
            // The handler must be bound before the CURVE server socket binds.
            auth = try ZAPAuthenticator(context: context, allowedPublicKeys: allowed) { decisions.append($0) }
            router = try ZMQSocket(context: context, type: .router)
            try router.setRouterMandatory(true)
            try router.makeCurveServer(keyPair: keys)
            try router.setZAPDomain("benn")
            endpoint = try bindEphemeral(router)
        }

        /// Echoes one message back to its sender, returning it with its metadata.
        func echoOnce(timeoutMilliseconds: Int) throws -> ZMQIncomingMessage? {
            guard let message = try router.receiveWithMetadata(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
            try router.send(message.frames)
            return message
        }
    }

    func curveClient(_ server: Server, keys: CurveKeyPair) throws -> ZMQSocket {
        let dealer = try ZMQSocket(context: server.context, type: .dealer)
        try dealer.makeCurveClient(keyPair: keys, serverPublicKey: server.keys.publicKey)
        try dealer.connect(server.endpoint)
        return dealer
    }

    func testAllowListedClientIsServedUnknownAndPlainClientsAreNot() throws {
        let good = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        let server = try Server(allowed: [good.publicKey])

        let allowed = try curveClient(server, keys: good)
        let unknown = try curveClient(server, keys: stranger)
        let plain = try ZMQSocket(context: server.context, type: .dealer)
        try plain.connect(server.endpoint)

        try unknown.send([Array("let me in".utf8)])
        try plain.send([Array("no crypto".utf8)])
        try allowed.send([Array("job?".utf8), [0, 1, 0]])

        let served = try XCTUnwrap(server.echoOnce(timeoutMilliseconds: 3000))
        XCTAssertEqual(Array(served.frames.dropFirst()), [Array("job?".utf8), [0, 1, 0]])
        XCTAssertEqual(served.userID, good.publicKey, "ZAP user id is the client's Z85 key")
        XCTAssertEqual(served.peerAddress, "127.0.0.1")
        XCTAssertEqual(try allowed.receive(timeoutMilliseconds: 3000), [Array("job?".utf8), [0, 1, 0]])

        // Nothing from the refused clients reaches the server, and they get no reply.
        XCTAssertNil(try server.echoOnce(timeoutMilliseconds: 500))
        XCTAssertNil(try unknown.receive(timeoutMilliseconds: 100))
        XCTAssertNil(try plain.receive(timeoutMilliseconds: 100))

        // The allowed client keeps working alongside them.
        try allowed.send([Array("again".utf8)])
        XCTAssertEqual(try server.echoOnce(timeoutMilliseconds: 3000)?.frames.last, Array("again".utf8))
        XCTAssertEqual(try allowed.receive(timeoutMilliseconds: 3000), [Array("again".utf8)])

        let decisions = server.decisions.values
        XCTAssertTrue(decisions.contains { $0.accepted && $0.clientPublicKey == good.publicKey && $0.domain == "benn" })
        let refused = try XCTUnwrap(decisions.first { $0.clientPublicKey == stranger.publicKey })
        XCTAssertFalse(refused.accepted)
        XCTAssertEqual(refused.statusCode, "400")
        XCTAssertEqual(refused.mechanism, "CURVE")
        XCTAssertEqual(refused.address, "127.0.0.1")
        XCTAssertFalse(decisions.contains { $0.accepted && $0.clientPublicKey != good.publicKey })
    }

    func testClientWithWrongServerKeyGetsNothing() throws {
        let good = try CurveKeyPair.generate()
        let server = try Server(allowed: [good.publicKey])
        let dealer = try ZMQSocket(context: server.context, type: .dealer)
        try dealer.makeCurveClient(keyPair: good, serverPublicKey: try CurveKeyPair.generate().publicKey)
        let monitor = try ZMQSocketMonitor(dealer, events: .handshakeFailures)
        try dealer.connect(server.endpoint)
        try dealer.send([[1]])
        XCTAssertNil(try server.echoOnce(timeoutMilliseconds: 500))
        let failure = try XCTUnwrap(firstFailure(monitor), "the client learns that its handshake failed")
        // The server just drops the connection: libzmq reports it without detail.
        XCTAssertEqual(failure.event, .handshakeFailedOther)
        monitor.close()
    }

    /// Waits for the first handshake failure on `monitor`.
    func firstFailure(_ monitor: ZMQSocketMonitor) throws -> ZMQMonitorEvent? {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let event = try monitor.next(timeoutMilliseconds: 100), ZMQMonitorEvents.handshakeFailures.contains(event.event) { return event }
        }
        return nil
    }

    func testRefusedClientsSeeWhyOnTheirMonitor() throws {
        let good = try CurveKeyPair.generate()
        let server = try Server(allowed: [good.publicKey])

        // A key not on the allow list: the ZAP handler's 400 reaches the client.
        let stranger = try ZMQSocket(context: server.context, type: .dealer)
        try stranger.makeCurveClient(keyPair: try CurveKeyPair.generate(), serverPublicKey: server.keys.publicKey)
        let strangerMonitor = try ZMQSocketMonitor(stranger, events: .handshakeFailures)
        try stranger.connect(server.endpoint)
        let refused = try XCTUnwrap(firstFailure(strangerMonitor))
        XCTAssertEqual(refused.event, .handshakeFailedAuth)
        XCTAssertEqual(refused.value, 400)
        XCTAssertEqual(refused.endpoint, server.endpoint)

        // A client without CURVE: the mechanisms do not match.
        let plain = try ZMQSocket(context: server.context, type: .dealer)
        let plainMonitor = try ZMQSocketMonitor(plain, events: .handshakeFailures)
        try plain.connect(server.endpoint)
        let mismatch = try XCTUnwrap(firstFailure(plainMonitor))
        XCTAssertEqual(mismatch.event, .handshakeFailedProtocol)
        XCTAssertEqual(Int32(bitPattern: mismatch.value), ZMQProtocolError.mechanismMismatch)

        // The allowed client's handshake succeeds and reports no failure.
        let allowed = try ZMQSocket(context: server.context, type: .dealer)
        try allowed.makeCurveClient(keyPair: good, serverPublicKey: server.keys.publicKey)
        let allowedMonitor = try ZMQSocketMonitor(allowed, events: [.handshakeSucceeded, .handshakeFailures])
        try allowed.connect(server.endpoint)
        XCTAssertEqual(try allowedMonitor.next(timeoutMilliseconds: 5000)?.event, .handshakeSucceeded)

        for monitor in [strangerMonitor, plainMonitor, allowedMonitor] { monitor.close() }
    }

    func testMonitorEventDecoding() {
        // Event 0x4000 (auth failure), value 400, little-endian, then the endpoint.
        let event = ZMQSocketMonitor.decode([[0x00, 0x40, 0x90, 0x01, 0, 0], Array("tcp://1.2.3.4:5".utf8)])
        XCTAssertEqual(event, ZMQMonitorEvent(event: .handshakeFailedAuth, value: 400, endpoint: "tcp://1.2.3.4:5"))
        XCTAssertNil(ZMQSocketMonitor.decode([[1, 2, 3]]), "a short or single frame is not an event")
        XCTAssertNil(ZMQSocketMonitor.decode([[0, 0x40, 0, 0, 0], []]))
    }

    func testAllowListUpdatesApplyToNewHandshakes() throws {
        let first = try CurveKeyPair.generate()
        let second = try CurveKeyPair.generate()
        let server = try Server(allowed: [first.publicKey])

        try server.auth.allow(second.publicKey)
        XCTAssertEqual(server.auth.allowedPublicKeys, [first.publicKey, second.publicKey])
        let late = try curveClient(server, keys: second)
        try late.send([Array("hi".utf8)])
        XCTAssertEqual(try server.echoOnce(timeoutMilliseconds: 3000)?.userID, second.publicKey)

        server.auth.revoke(first.publicKey)
        let revoked = try curveClient(server, keys: first)
        try revoked.send([Array("still me".utf8)])
        XCTAssertNil(try server.echoOnce(timeoutMilliseconds: 500))

        XCTAssertThrowsError(try server.auth.allow("not a key"))
        XCTAssertThrowsError(try server.auth.setAllowedPublicKeys(["x"]))
        try server.auth.setAllowedPublicKeys([])
        XCTAssertEqual(server.auth.allowedPublicKeys, [])
    }

    func testOnlyOneAuthenticatorPerContext() throws {
        let context = try ZMQContext()
        let auth = try ZAPAuthenticator(context: context)
        XCTAssertThrowsError(try ZAPAuthenticator(context: context)) { error in
            XCTAssertEqual((error as? ZMQError)?.code, EADDRINUSE)
            XCTAssertEqual((error as? ZMQError)?.endpoint, ZAPAuthenticator.endpoint)
        }
        auth.stop()
    }

    /// Pins libzmq 4.3's fail-open behaviour that the authenticator's documentation warns
    /// about: with no ZAP handler bound, a CURVE server admits any client with its public key.
    func testWithoutHandlerCurveServerAdmitsAnyKey() throws {
        let context = try ZMQContext()
        let serverKeys = try CurveKeyPair.generate()
        let router = try ZMQSocket(context: context, type: .router)
        try router.makeCurveServer(keyPair: serverKeys)
        let endpoint = try bindEphemeral(router)
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.makeCurveClient(keyPair: try CurveKeyPair.generate(), serverPublicKey: serverKeys.publicKey)
        try dealer.connect(endpoint)
        try dealer.send([[42]])
        XCTAssertEqual(try router.receive(timeoutMilliseconds: 3000)?.last, [42])
    }

    func testZAPPolicyOnRawRequests() throws {
        let key = try CurveKeyPair.generate()
        let raw = try Z85.decode(key.publicKey)
        func request(_ mechanism: String, _ credentials: [[UInt8]], version: String = "1.0") -> [[UInt8]] {
            [Array(version.utf8), [7, 0], Array("d".utf8), Array("10.0.0.1".utf8), [], Array(mechanism.utf8)] + credentials
        }
        var (reply, decision) = zapEvaluate(request("CURVE", [raw]), allowed: [key.publicKey])
        XCTAssertEqual(reply, [Array("1.0".utf8), [7, 0], Array("200".utf8), Array("OK".utf8), Array(key.publicKey.utf8), []])
        XCTAssertTrue(decision.accepted)

        (reply, decision) = zapEvaluate(request("CURVE", [raw]), allowed: [])
        XCTAssertEqual(reply[2], Array("400".utf8))
        XCTAssertEqual(decision.clientPublicKey, key.publicKey)

        (reply, _) = zapEvaluate(request("NULL", []), allowed: [key.publicKey])
        XCTAssertEqual(reply[2], Array("400".utf8))
        (reply, _) = zapEvaluate(request("CURVE", [Array(raw.prefix(31))]), allowed: [key.publicKey])
        XCTAssertEqual(reply[2], Array("400".utf8))
        (reply, _) = zapEvaluate(request("CURVE", [raw], version: "2.0"), allowed: [key.publicKey])
        XCTAssertEqual(reply[1], [7, 0])
        XCTAssertEqual(reply[2], Array("500".utf8))
        (reply, decision) = zapEvaluate([Array("1.0".utf8), [1]], allowed: [])
        XCTAssertEqual(reply.count, 6)
        XCTAssertEqual(reply[1], [1])
        XCTAssertEqual(reply[2], Array("500".utf8))
        XCTAssertFalse(decision.accepted)
    }
}
