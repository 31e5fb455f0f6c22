import Foundation
import XCTest
@testable import BennTransport

/// Binds `socket` to an ephemeral loopback TCP port and returns the resolved endpoint.
func bindEphemeral(_ socket: ZMQSocket) throws -> String {
    try socket.bind("tcp://127.0.0.1:*")
    let endpoint = try socket.lastEndpoint()
    XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
    XCTAssertNotEqual(endpoint, "tcp://127.0.0.1:0")
    return endpoint
}

/// Runs `body` on a fresh thread and fails (instead of hanging the suite) if it takes longer
/// than `seconds`.
func assertFinishes(within seconds: Double, _ what: String, _ body: @escaping @Sendable () -> Void,
                    file: StaticString = #filePath, line: UInt = #line) {
    let done = DispatchSemaphore(value: 0)
    Thread { body(); done.signal() }.start()
    XCTAssertEqual(done.wait(timeout: .now() + seconds), .success, "\(what) did not finish in \(seconds) s",
                   file: file, line: line)
}

/// Milliseconds taken by `body`.
func elapsedMilliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
}

/// Thread-safe collector for values produced on other threads (e.g. ZAP decisions).
final class Collector<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
    var values: [T] { lock.lock(); defer { lock.unlock() }; return items }
}
