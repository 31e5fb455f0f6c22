import XCTest
import Foundation

/// docs/PROTOCOL.md checked, not trusted: `tests/python/conformance.py`, a client and worker
/// written from the document alone (Python, pyzmq), drives a real `benn coordinator`.
final class ConformanceTests: ClusterTestCase {
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The venv `scripts/setup` creates: `$BENN_VENV`, default `.venv` at the repository root.
    static var python: String {
        let venv = ProcessInfo.processInfo.environment["BENN_VENV"] ?? repositoryRoot.appendingPathComponent(".venv").path
        return venv + "/bin/python"
    }

    func testPythonClientWrittenFromTheDocument() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            return XCTFail("\(Self.python) is missing: run scripts/setup (it creates the venv with pyzmq for this test)")
        }
        try start(["coordinator", "--bind", "tcp://127.0.0.1:*", "--state", "state", "--max-attempts", "5"], log: "coordinator.log")
        let text = try waitFor("coordinator listening on ", in: "coordinator.log")
        let line = text.split(separator: "\n").first { $0.contains("coordinator listening on ") }!
        let endpoint = String(line.split(separator: " ").first { $0.hasPrefix("tcp://") }!)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python)
        p.arguments = [Self.repositoryRoot.appendingPathComponent("tests/python/conformance.py").path, endpoint, directory + "/pydata"]
        let logPath = directory + "/conformance.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        processes.append(p)
        let deadline = Date().addingTimeInterval(180)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        try handle.close()
        let output = read("conformance.log")
        XCTAssertEqual(p.terminationStatus, 0, "conformance.py failed:\n\(output)\ncoordinator log:\n\(read("coordinator.log"))")
        XCTAssertTrue(output.contains("conformance: all checks passed"), output)
    }
}
