import XCTest
import BennServe

/// `/v2/models/<name>/versions/<version>/...` and the V2 model ready response.
extension ServeTests {
    func testModelReadyIsAJSONBoolean() async throws {
        for path in ["/v2/models/tiny/ready", "/v2/models/tiny/versions/1/ready"] {
            let r = try await request("GET", path)
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertEqual(r.text, #"{"name":"tiny","ready":true}"#, path)
        }
    }

    func testVersionedPathsAnswerLikeTheUnversionedOnes() async throws {
        let plain = try await request("GET", "/v2/models/tiny")
        let versioned = try await request("GET", "/v2/models/tiny/versions/1")
        XCTAssertEqual(versioned.status, 200, versioned.text)
        XCTAssertEqual(versioned.text, plain.text)
        XCTAssertEqual(try json(versioned)["versions"] as? [String], ["1"])

        let bytes = Array(Fixture.images.pixels[0..<128])
        let body = try inferBody(["name": "images", "shape": [2, 8, 8, 1], "datatype": "UINT8", "data": bytes.map(Int.init)])
        let a = try await request("POST", "/v2/models/tiny/infer", body: body)
        let b = try await request("POST", "/v2/models/tiny/versions/1/infer", body: body)
        XCTAssertEqual(b.status, 200, b.text)
        XCTAssertEqual(b.text, a.text)
        let r = try json(b)
        XCTAssertEqual(r["model_version"] as? String, "1")
        XCTAssertEqual(try output(r, "classes")["data"] as? [Int], try expected(bytes, count: 2).classes)

        for path in ["/v2/models/tiny/versions/2", "/v2/models/tiny/versions/2/ready", "/v2/models/tiny/versions/latest/ready"] {
            try assertError(try await request("GET", path), 404, "of model 'tiny'; versions: 1")
        }
        try assertError(try await request("POST", "/v2/models/tiny/versions/7/infer", body: body), 404, "unknown version '7' of model 'tiny'; versions: 1")
        try assertError(try await request("GET", "/v2/models/other/versions/1/ready"), 404, "unknown model 'other'")

        let metrics = try await request("GET", "/metrics").text
        XCTAssertTrue(metrics.contains(#"benn_http_requests_total{endpoint="/v2/models/{name}/versions/{version}/infer",code="200"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"benn_http_requests_total{endpoint="/v2/models/{name}/versions/{version}/infer",code="404"} 1"#), metrics)
        try await assertStillServing()
    }
}
