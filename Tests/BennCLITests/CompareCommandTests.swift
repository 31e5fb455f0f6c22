import XCTest
import Foundation

extension CLITests {
    /// `benn compare` over the reports of real trainings: two kinds of run over two seeds,
    /// the figures agree with the reports' own, and bad files get one line naming them.
    func testCompareGroupsRealReportsBySpecAndPairsThemBySeed() throws {
        try writeDataset()
        var reports: [String] = []
        var accuracies: [String: Double] = [:]
        for method in ["bnn", "xnor"] {
            for seed in ["0", "1"] {
                let report = "\(directory!)/\(method)-s\(seed).json"
                let r = try run(["train", "--model", "tinymlp", "--method", method, "--seed", seed, "--epochs", "2", "--batch-size", "16",
                                 "--learning-rate", "0.01", "--data", directory, "--threads", "1", "-o", "\(directory!)/\(method)-s\(seed).ckpt", "--report", report])
                XCTAssertEqual(r.status, 0, r.stderr)
                let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
                accuracies[method + seed] = json["finalTestAccuracy"] as? Double
                reports.append(report)
            }
        }
        let comparison = directory + "/compare.json"
        let r = try run(["compare"] + reports + ["--report", comparison])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("4 runs of 2 kinds"), r.stdout)
        XCTAssertTrue(r.stdout.contains("A (baseline): tinymlp, bnn\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("B: tinymlp, xnor\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("paired on seeds 0-1: "), r.stdout)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: comparison))) as! [String: Any]
        let groups = try XCTUnwrap(json["groups"] as? [[String: Any]])
        XCTAssertEqual(groups.compactMap { $0["files"] as? [String] }, [Array(reports[0..<2]), Array(reports[2..<4])])
        XCTAssertEqual(groups[1]["differences"] as? [String], ["method is xnor, A's bnn"])
        let versus = try XCTUnwrap(groups[1]["versusBaseline"] as? [String: Any])
        let paired = try XCTUnwrap(versus["pairedDifferences"] as? [Double])
        XCTAssertEqual(paired[0], accuracies["xnor0"]! - accuracies["bnn0"]!, accuracy: 1e-6)
        XCTAssertEqual(paired[1], accuracies["xnor1"]! - accuracies["bnn1"]!, accuracy: 1e-6)
        XCTAssertEqual(versus["meanDifference"] as! Double, (paired[0] + paired[1]) / 2, accuracy: 1e-6)

        let one = try run(["compare", reports[0]])
        XCTAssertTrue(one.stdout.hasPrefix("1 run of 1 kind, "), one.stdout)
        XCTAssertTrue(one.stdout.contains("  seed 0: "), one.stdout)

        // The baseline can be any kind; the other one is then set against it.
        let flipped = try run(["compare"] + reports + ["--baseline", reports[3]])
        XCTAssertEqual(flipped.status, 0, flipped.stderr)
        XCTAssertTrue(flipped.stdout.contains("A (baseline): tinymlp, xnor\n"), flipped.stdout)

        let junk = directory + "/junk.json"
        FileManager.default.createFile(atPath: junk, contents: Data("{\"epochs\": [".utf8))
        assertCleanFailure(try run(["compare", reports[0], junk]), mentions: "junk.json: not a JSON object")
        var cut = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: reports[1]))) as! [String: Any]
        cut["datasetHash"] = nil
        let partial = directory + "/partial.json"
        XCTAssertTrue(FileManager.default.createFile(atPath: partial, contents: try JSONSerialization.data(withJSONObject: cut)))
        assertCleanFailure(try run(["compare", reports[0], partial]), mentions: "partial.json: not a `benn train --report` file: no 'datasetHash'")
        assertCleanFailure(try run(["compare", reports[0], directory + "/missing.json"]), mentions: "missing.json: cannot read the file (no such file)")
        assertCleanFailure(try run(["compare", reports[0], reports[0]]), mentions: "hold the same run (the same spec and seed 0)")
        assertCleanFailure(try run(["compare"]), mentions: "name the report files to compare")
        // Ignoring the method makes the two kinds one, whose seeds then repeat.
        assertCleanFailure(try run(["compare"] + reports + ["--ignore", "method"]), mentions: "hold the same run (the same spec and seed 0)")
        assertCleanFailure(try run(["compare"] + reports + ["--ignore", "methd"]), mentions: "'methd' is not a spec key (did you mean 'method'?)")
    }
}
