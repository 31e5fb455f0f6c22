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

    /// zmq_bind takes `localhost` for an interface name ("No such device"): it is rewritten.
    func testLocalhostBindsAsTheLoopbackAddress() throws {
        XCTAssertEqual(try Endpoint.bindable("tcp://localhost:5555"), "tcp://127.0.0.1:5555")
        XCTAssertEqual(try Endpoint.bindable("tcp://localhost:*"), "tcp://127.0.0.1:*")
        XCTAssertEqual(try Endpoint.bindable("tcp://LocalHost:0"), "tcp://127.0.0.1:0")
    }

    func testAddressesInterfacesAndOtherTransportsBindUnchanged() throws {
        for endpoint in ["tcp://127.0.0.1:5555", "tcp://127.0.0.1:*", "tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.0.0.1:1",
                         "tcp://[::1]:5555", "tcp://[::]:5555", "tcp://::1:5555", "tcp://lo:5555",
                         "ipc:///tmp/benn.sock", "inproc://coordinator", "udp://localhost:1",
                         // Malformed: libzmq's to refuse, with its own message.
                         "tcp://localhost", "tcp://:5555", "tcp://127.0.0.1;10.0.0.1:5555"] {
            XCTAssertEqual(try Endpoint.bindable(endpoint), endpoint)
        }
    }

    func testHostNamesAreRefusedNamingTheEndpoint() {
        // Longer than an interface name can be (15 characters), so never one.
        for host in ["no-such-host.example", "localhost.localdomain.example"] {
            XCTAssertThrowsError(try Endpoint.bindable("tcp://\(host):5555")) { error in
                XCTAssertEqual("\(error)", "cannot bind tcp://\(host):5555: \(host) is not an IP address or interface; use an address such as 0.0.0.0 or 127.0.0.1")
            }
        }
    }
}
