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
        try start(["coordinator", "--bind", "tcp://127.0.0.1:*", "--state", "state", "--max-attempts", "5", "--quarantine-seconds", "1"], log: "coordinator.log")
        let text = try waitFor("coordinator listening on ", in: "coordinator.log")
        let line = text.split(separator: "\n").first { $0.contains("coordinator listening on ") }!
        let endpoint = String(line.split(separator: " ").first { $0.hasPrefix("tcp://") }!)

        let (status, output) = try runPython("conformance.py", [endpoint, directory + "/pydata"], timeout: 180)
        XCTAssertEqual(status, 0, "conformance.py failed:\n\(output)\ncoordinator log:\n\(read("coordinator.log"))")
        XCTAssertTrue(output.contains("conformance: all checks passed"), output)
    }
}

extension ClusterTestCase {
    /// Runs `tests/python/SCRIPT ARGS` with the venv's Python; its exit status and output.
    func runPython(_ script: String, _ arguments: [String], timeout: Double) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ConformanceTests.python)
        p.arguments = [ConformanceTests.repositoryRoot.appendingPathComponent("tests/python/" + script).path] + arguments
        let log = (script as NSString).deletingPathExtension + ".log"
        FileManager.default.createFile(atPath: directory + "/" + log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/" + log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        processes.append(p)
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        try handle.close()
        return (p.terminationStatus, read(log))
    }
}
