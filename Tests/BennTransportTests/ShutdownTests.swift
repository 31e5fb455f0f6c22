import XCTest
@testable import BennTransport

final class ShutdownTests: XCTestCase {
    func testClosingSocketsWithPendingMessagesAndContextDoesNotHang() {
        assertFinishes(within: 5, "close + context term") {
            do {
                var context: ZMQContext? = try ZMQContext()
                // Queued messages for a peer that never appears.
                let dealer = try ZMQSocket(context: context!, type: .dealer)
                try dealer.connect("tcp://127.0.0.1:1")
                for _ in 0..<100 { try dealer.send([[UInt8](repeating: 1, count: 1000)]) }
                let router = try ZMQSocket(context: context!, type: .router)
                _ = try bindEphemeral(router)
                dealer.close()
                router.close()
                context = nil  // zmq_ctx_term runs here
                // Released without explicit close, even with a positive linger.
                let context2 = try ZMQContext()
                let lingering = try ZMQSocket(context: context2, type: .push)
                try lingering.setLinger(milliseconds: 100)
                try lingering.connect("tcp://127.0.0.1:1")
                try lingering.send([[1]])
            } catch {
                XCTFail("\(error)")
            }
        }
    }

    func testContextShutdownInterruptsBlockingReceive() throws {
        let context = try ZMQContext()
        let errors = Collector<ZMQError>()
        let done = DispatchSemaphore(value: 0)
        Thread {
            do {
                let socket = try ZMQSocket(context: context, type: .pull)
                try socket.bind("inproc://blocked")
                _ = try socket.receive()  // blocks forever
            } catch let error as ZMQError {
                errors.append(error)
            } catch {}
            done.signal()
        }.start()
        usleep(50_000)
        context.shutdown()
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(errors.values.first?.isContextTerminated, true)
    }

    func testAuthenticatorStopsPromptly() throws {
        let context = try ZMQContext()
        let auth = try ZAPAuthenticator(context: context)
        let ms = elapsedMilliseconds { auth.stop() }
        XCTAssertLessThan(ms, 1000)
        auth.stop()  // idempotent
        // The endpoint is free again: a new handler can start on the same context.
        let again = try ZAPAuthenticator(context: context)
        again.stop()
    }
}
