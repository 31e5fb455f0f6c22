import XCTest
import BennTransport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Key files and bind addresses as the cluster commands take them: what `keygen` writes and
/// which mistakes in `--secret-key`, `--allow`, `--server-key` and `--bind` are refused.
final class KeyConfigTests: ClusterTestCase {
    func keygen(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run(["keygen"] + arguments, timeout: 30)
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: directory + "/" + path)) }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        XCTAssertEqual(stat(directory + "/" + path, &info), 0, path)
        return info.st_mode & 0o777
    }

    /// Without a secret key there is no CURVE, so an allow list would guard nothing.
    func testAllowWithoutSecretKeyIsRefused() throws {
        XCTAssertEqual(try keygen(["keys/w"]).status, 0)
        let r = try run(["coordinator", "--bind", "tcp://127.0.0.1:*", "--state", "state", "--allow", "keys/w.pub"], timeout: 20)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.output, "error: --allow needs --secret-key: without the coordinator's secret key there is no encryption and no allow list\n")
    }

    /// The secret key file is created 0600, not created and then chmod'ed: a chmod after the
    /// creation (inotify's IN_ATTRIB) would mean it existed for a while with a wider mode.
    func testKeygenCreatesTheSecretKeyOwnerOnlyFromTheStart() throws {
        try FileManager.default.createDirectory(atPath: directory + "/keys", withIntermediateDirectories: true)
        let watch = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        XCTAssertGreaterThanOrEqual(watch, 0)
        defer { close(watch) }
        XCTAssertGreaterThanOrEqual(inotify_add_watch(watch, directory + "/keys", UInt32(IN_ATTRIB)), 0)
        let r = try keygen(["keys/c"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(mode("keys/c.key"), 0o600)
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = Glibc.read(watch, &buffer, buffer.count)
        var changed: [String] = []
        var offset = 0
        // struct inotify_event: wd, mask, cookie, len (4 bytes each), then len bytes of name.
        while n > 0 && offset + 16 <= n {
            let length = buffer[(offset + 12)..<(offset + 16)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            changed.append(String(decoding: buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }, as: UTF8.self))
            offset += 16 + length
        }
        XCTAssertFalse(changed.contains("c.key"), "c.key had its mode changed after it was created: \(changed)")
    }

    func testSecondKeygenRefusesUnlessForced() throws {
        XCTAssertEqual(try keygen(["keys/c"]).status, 0)
        let secret = try bytes("keys/c.key"), public_ = try bytes("keys/c.pub")
        let again = try keygen(["keys/c"])
        XCTAssertEqual(again.status, 1, again.output)
        XCTAssertEqual(again.output, "error: keys/c.key already exists; pass --force to replace the key pair\n")
        XCTAssertEqual(try bytes("keys/c.key"), secret)
        XCTAssertEqual(try bytes("keys/c.pub"), public_)
        // Half a pair is refused too, and nothing is written next to it.
        try "x\n".write(toFile: directory + "/keys/d.pub", atomically: true, encoding: .utf8)
        let half = try keygen(["keys/d"])
        XCTAssertEqual(half.status, 1, half.output)
        XCTAssertTrue(half.output.contains("keys/d.pub already exists"), half.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/keys/d.key"))

        let forced = try keygen(["keys/c", "--force"])
        XCTAssertEqual(forced.status, 0, forced.output)
        let newSecret = try bytes("keys/c.key"), newPublic = try bytes("keys/c.pub")
        XCTAssertNotEqual(newSecret, secret)
        XCTAssertNotEqual(newPublic, public_)
        XCTAssertEqual(mode("keys/c.key"), 0o600)
        let pair = try CurveKeyPair(secretKey: String(decoding: newSecret, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(pair.publicKey + "\n", String(decoding: newPublic, as: UTF8.self), "the replaced files are one pair")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/keys").sorted(), ["c.key", "c.pub", "d.pub"],
                       "no temporary files left")
    }

    func testSecretKeyOpenToOthersWarns() throws {
        XCTAssertEqual(try keygen(["keys/c"]).status, 0)
        // Without --allow the coordinator stops right after reading its key, which is all this needs.
        let arguments = ["coordinator", "--bind", "tcp://127.0.0.1:*", "--state", "state", "--secret-key", "keys/c.key"]
        let quiet = try run(arguments, timeout: 20)
        XCTAssertEqual(quiet.status, 1, quiet.output)
        XCTAssertFalse(quiet.output.contains("warning"), quiet.output)
        XCTAssertEqual(chmod(directory + "/keys/c.key", 0o640), 0)
        let warned = try run(arguments, timeout: 20)
        XCTAssertTrue(warned.output.contains("warning: secret key file keys/c.key is open to other users (mode 640); run chmod 600 keys/c.key\n"),
                      warned.output)
    }

    func testSecretKeyWherePublicKeyIsExpectedIsRefused() throws {
        for name in ["coord", "w"] { XCTAssertEqual(try keygen(["keys/\(name)"]).status, 0) }
        let coordinator = ["coordinator", "--bind", "tcp://127.0.0.1:*", "--state", "state", "--secret-key", "keys/coord.key"]
        func refused(_ arguments: [String], _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try run(arguments, timeout: 20)
            XCTAssertEqual(r.status, 1, r.output, file: file, line: line)
            XCTAssertEqual(r.output, "error: \(message)\n", file: file, line: line)
        }
        try refused(coordinator + ["--allow", "keys/w.key"], "keys/w.key is a secret key file; pass the public key file (.pub) instead")
        try refused(["worker", "--connect", "tcp://127.0.0.1:1", "--secret-key", "keys/w.key", "--server-key", "keys/coord.key"],
                    "keys/coord.key is a secret key file; pass the public key file (.pub) instead")
        // Renamed, a secret key still gives itself away by the public key next to it.
        try FileManager.default.copyItem(atPath: directory + "/keys/w.key", toPath: directory + "/keys/w.txt")
        try refused(coordinator + ["--allow", "keys/w.txt"], "keys/w.txt holds a secret key (its public key is in keys/w.pub); pass the public key file (.pub) instead")
        // So does one in an allow list that also holds its public key.
        try FileManager.default.createDirectory(atPath: directory + "/lists", withIntermediateDirectories: true)
        let secret = String(decoding: try bytes("keys/w.key"), as: UTF8.self), public_ = String(decoding: try bytes("keys/w.pub"), as: UTF8.self)
        try ("# workers\n" + public_ + secret).write(toFile: directory + "/lists/allowed", atomically: true, encoding: .utf8)
        try refused(coordinator + ["--allow", "lists/allowed"], "lists/allowed holds a secret key (its public key is in lists/allowed); pass the public key file (.pub) instead")
        // Public keys pass: a .pub file and a list of them.
        try ("# workers\n" + public_).write(toFile: directory + "/lists/allowed", atomically: true, encoding: .utf8)
        _ = try startCoordinator(extra: ["--secret-key", "keys/coord.key", "--allow", "keys/w.pub", "--allow", "lists/allowed"])
    }

    /// libzmq's bind takes a host for an interface name; `localhost` is bound as 127.0.0.1.
    func testLocalhostBindListensOnLoopback() throws {
        try start(["coordinator", "--bind", "tcp://localhost:*", "--state", "state", "--heartbeat-ms", "200"], log: "coordinator.log")
        let log = try waitFor("coordinator listening on ", in: "coordinator.log", timeout: 30)
        let line = log.split(separator: "\n").first { $0.contains("coordinator listening on ") }!
        XCTAssertTrue(line.contains("coordinator listening on tcp://127.0.0.1:"), log)
        let endpoint = String(line.split(separator: " ").first { $0.hasPrefix("tcp://") }!)
        let status = try run(["status", "--coordinator", endpoint], timeout: 30)
        XCTAssertEqual(status.status, 0, status.output)
        XCTAssertTrue(status.output.contains("specs:"), status.output)

        let named = try run(["coordinator", "--bind", "tcp://no-such-host.example:5555", "--state", "state2"], timeout: 20)
        XCTAssertEqual(named.status, 1, named.output)
        XCTAssertEqual(named.output, "error: cannot bind tcp://no-such-host.example:5555: no-such-host.example is not an IP address or interface; use an address such as 0.0.0.0 or 127.0.0.1\n")
    }
}
