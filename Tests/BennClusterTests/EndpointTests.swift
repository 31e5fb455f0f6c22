import XCTest
@testable import BennCluster

final class EndpointTests: XCTestCase {
    func testLoopbackAndLocalTransportsAreLocalOnly() {
        for endpoint in ["tcp://127.0.0.1:5555", "tcp://127.0.0.1:*", "tcp://127.1.2.3:80", "tcp://localhost:5555",
                         "tcp://[::1]:5555", "tcp://lo:5555", "ipc:///tmp/benn.sock", "inproc://coordinator"] {
            XCTAssertTrue(Endpoint.isLocalOnly(endpoint), endpoint)
        }
    }

    func testOtherAddressesAreReachable() {
        for endpoint in ["tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.0.0.1:5555", "tcp://[::]:5555", "tcp://eth0:5555",
                         // Look-alikes a substring test would have taken for loopback.
                         "tcp://127.0.0.1.example.com:5555", "tcp://10.127.0.0.1:5555", "tcp://128.0.0.1:5555",
                         "tcp://127.0.0.1;10.0.0.1:5555", "tcp://localhost.example:1", "tcp://127.0.0:1",
                         "tcp://127.0.0.1", "udp://127.0.0.1:5555", "ws://127.0.0.1:80", ""] {
            XCTAssertFalse(Endpoint.isLocalOnly(endpoint), endpoint)
        }
    }
}
