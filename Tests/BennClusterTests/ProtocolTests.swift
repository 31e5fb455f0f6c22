import XCTest
import BennCluster
import BennEnsemble
import BennTrain

final class ProtocolTests: XCTestCase {
    func testJobSurvivesTheWireExactly() throws {
        var spec = TrainingSpec()
        spec.ensemble.strategy = .boosting
        spec.ensemble.members = 3
        var state = EnsembleState(spec: spec, trainingCount: 7, classes: 10)
        _ = state.apply(MemberResult(member: 0, tensors: [:], history: [], trainingMisses: [true, false, false, true, false, false, false], seconds: 0))
        let job = try XCTUnwrap(state.readyJobs().first)
        let frames = Message(.job, ["job": .from(job)]).frames()
        let decoded = try Message.decode(frames).decodeField("job", as: MemberJob.self)
        XCTAssertEqual(decoded, job)
        guard case let .resample(w, _) = decoded.sampling, case let .resample(w0, _) = job.sampling else { return XCTFail() }
        XCTAssertEqual(w.map(\.bitPattern), w0.map(\.bitPattern))
    }

    func testMalformedFramesAreRefusedWithReasons() {
        func reason(_ frames: [[UInt8]]) -> String {
            do { _ = try Message.decode(frames); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(reason([]).contains("0 frames"))
        XCTAssertTrue(reason([Array("BENN/2".utf8), Array("READY".utf8), Array("{}".utf8)]).contains("protocol version mismatch"))
        XCTAssertTrue(reason([Array("HTTP/1.1".utf8), Array("READY".utf8), Array("{}".utf8)]).contains("not a benn message"))
        XCTAssertTrue(reason([Array("BENN/1".utf8), Array("LAUNCH".utf8), Array("{}".utf8)]).contains("unknown message type"))
        XCTAssertTrue(reason([Array("BENN/1".utf8), Array("READY".utf8), Array("[1,2]".utf8)]).contains("not a JSON object"))
        XCTAssertTrue(reason([Array("BENN/1".utf8), Array("READY".utf8), [0xff, 0xfe]]).contains("not a JSON object"))
        XCTAssertEqual(reason(Message(.ready).frames()), "accepted")
    }
}
