import XCTest
import BennServe

/// The V2 binary data extension: `Inference-Header-Content-Length: N`, N bytes of JSON,
/// then raw little-endian tensor bytes, for inputs and outputs.
extension ServeTests {
    /// A body of JSON `header` followed by `binary`, with its header line.
    func binaryRequest(_ header: [String: Any], _ binary: [UInt8], path: String = "/v2/models/tiny/infer",
                       jsonLength: String? = nil) async throws -> LoopbackClient.Reply {
        let json = [UInt8](try JSONSerialization.data(withJSONObject: header))
        return try await request("POST", path, body: json + binary, contentType: "application/octet-stream",
                                 headers: [("Inference-Header-Content-Length", jsonLength ?? String(json.count))])
    }

    /// The JSON part and the binary part of a reply.
    func split(_ reply: LoopbackClient.Reply, file: StaticString = #filePath, line: UInt = #line) throws -> ([String: Any], [UInt8]) {
        let n = try XCTUnwrap(reply.headers["inference-header-content-length"].flatMap { Int($0) }, "no header: \(reply.headers)", file: file, line: line)
        let object = try JSONSerialization.jsonObject(with: Data(reply.body[0..<n]))
        return (try XCTUnwrap(object as? [String: Any], file: file, line: line), Array(reply.body[n...]))
    }

    func littleEndian<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, as: T.Type) -> [T] {
        let b = Array(bytes), w = MemoryLayout<T>.size
        return (0..<(b.count / w)).map { i in (0..<w).reduce(T.zero) { $0 | T(b[i * w + $1]) << (8 * $1) } }
    }

    func testBinaryInputsGiveTheSameAnswerAsJSON() async throws {
        let bytes = Array(Fixture.images.pixels[0..<192])
        let json = try await request("POST", "/v2/models/tiny/infer",
                                     body: try inferBody(["name": "images", "shape": [3, 8, 8, 1], "datatype": "UINT8", "data": bytes.map(Int.init)]))
        XCTAssertEqual(json.status, 200, json.text)
        let uint8 = try await binaryRequest(["inputs": [["name": "images", "shape": [3, 8, 8, 1], "datatype": "UINT8",
                                                           "parameters": ["binary_data_size": 192]]]], bytes)
        XCTAssertEqual(uint8.status, 200, uint8.text)
        XCTAssertEqual(uint8.headers["content-type"], "application/json")
        XCTAssertNil(uint8.headers["inference-header-content-length"])
        XCTAssertEqual(uint8.text, json.text)
        var fp32: [UInt8] = []
        for b in bytes { withUnsafeBytes(of: Float(b).bitPattern.littleEndian) { fp32 += $0 } }
        let float = try await binaryRequest(["inputs": [["name": "images", "shape": [3, 64], "datatype": "FP32",
                                                           "parameters": ["binary_data_size": 768]]]], fp32)
        XCTAssertEqual(float.text, json.text)
        // On the versioned path too.
        let versioned = try await binaryRequest(["inputs": [["name": "images", "shape": [3, 8, 8, 1], "datatype": "UINT8",
                                                               "parameters": ["binary_data_size": 192]]]], bytes,
                                                path: "/v2/models/tiny/versions/1/infer")
        XCTAssertEqual(versioned.text, json.text)
    }

    func testBinaryOutputs() async throws {
        let bytes = Array(Fixture.images.pixels[0..<128])
        let want = try expected(bytes, count: 2)
        let reply = try await binaryRequest([
            "id": "b1",
            "inputs": [["name": "images", "shape": [2, 64], "datatype": "UINT8", "parameters": ["binary_data_size": 128]]],
            "outputs": [["name": "probabilities", "parameters": ["binary_data": true]], ["name": "classes"],
                        ["name": "class_names", "parameters": ["binary_data": true]], ["name": "scores", "parameters": ["binary_data": true]],
                        ["name": "member_classes", "parameters": ["binary_data": true]]],
        ], bytes)
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(reply.headers["content-type"], "application/octet-stream")
        let (header, binary) = try split(reply)
        XCTAssertEqual(header["id"] as? String, "b1")
        let classes = try output(header, "classes")
        XCTAssertEqual(classes["data"] as? [Int], want.classes)
        XCTAssertNil(classes["parameters"])
        var offset = 0
        func take(_ name: String, _ size: Int) throws -> ArraySlice<UInt8> {
            let o = try output(header, name)
            XCTAssertNil(o["data"], name)
            XCTAssertEqual((o["parameters"] as? [String: Any])?["binary_data_size"] as? Int, size, name)
            defer { offset += size }
            return binary[offset..<(offset + size)]
        }
        XCTAssertEqual(littleEndian(try take("probabilities", 2 * 10 * 4), as: UInt32.self).map(Float.init(bitPattern:)), want.probabilities)
        var names: [UInt8] = []
        for k in want.classes {
            let s = Array("class\(k)".utf8)
            names += [UInt8(s.count), 0, 0, 0] + s
        }
        XCTAssertEqual(Array(try take("class_names", names.count)), names)
        XCTAssertEqual(littleEndian(try take("scores", 2 * 10 * 8), as: UInt64.self).map(Double.init(bitPattern:)), want.scores)
        XCTAssertEqual(littleEndian(try take("member_classes", 2 * 3 * 8), as: Int64.self).map(Int.init), [0, 1].flatMap { i in want.members.map { $0[i] } })
        XCTAssertEqual(offset, binary.count)

        // binary_data_output: every output without its own binary_data comes back binary;
        // the JSON body works too (no binary inputs).
        let all = try await request("POST", "/v2/models/tiny/infer", body: try inferBody(
            ["name": "images", "shape": [2, 64], "datatype": "UINT8", "data": bytes.map(Int.init)], parameters: ["binary_data_output": true]))
        XCTAssertEqual(all.status, 200, all.text)
        let (h, b) = try split(all)
        let sizes = try ["probabilities", "classes", "class_names", "scores"].map {
            try XCTUnwrap((try output(h, $0)["parameters"] as? [String: Any])?["binary_data_size"] as? Int, $0)
        }
        XCTAssertEqual(sizes.reduce(0, +), b.count)
        XCTAssertEqual(littleEndian(b[80..<96], as: Int64.self).map(Int.init), want.classes)
    }

    func testBadBinarySizesAreRefusedNamingTheInput() async throws {
        func input(_ size: Any, shape: [Int] = [2, 64], datatype: String = "UINT8") -> [String: Any] {
            ["inputs": [["name": "images", "shape": shape, "datatype": datatype, "parameters": ["binary_data_size": size]]]]
        }
        let bytes = [UInt8](repeating: 9, count: 128)
        try assertError(try await binaryRequest(input(100), bytes), 400, "input 'images' has binary_data_size 100; shape [2, 64] of UINT8 needs 128 bytes")
        try assertError(try await binaryRequest(input(128, datatype: "FP32"), bytes), 400, "input 'images' has binary_data_size 128; shape [2, 64] of FP32 needs 512 bytes")
        try assertError(try await binaryRequest(input(128), Array(bytes[0..<100])), 400, "input 'images' has binary_data_size 128, but only 100 bytes of binary data are left")
        try assertError(try await binaryRequest(input(128), bytes + [1, 2]), 400, "the body has 2 bytes after the JSON and the inputs' binary data")
        try assertError(try await binaryRequest(input(-1), bytes), 400, "inputs[0].parameters.binary_data_size")
        try assertError(try await binaryRequest(input("128"), bytes), 400, "inputs[0].parameters.binary_data_size")
        try assertError(try await binaryRequest(input(128), bytes, jsonLength: "100000"), 400, "Inference-Header-Content-Length is 100000")
        try assertError(try await binaryRequest(input(128), bytes, jsonLength: "ten"), 400, "Inference-Header-Content-Length 'ten' is not a byte count")
        try assertError(try await binaryRequest(input(128), bytes, jsonLength: "10"), 400, "malformed JSON")
        let noHeader = try await request("POST", "/v2/models/tiny/infer", body: [UInt8](try JSONSerialization.data(withJSONObject: input(128))))
        try assertError(noHeader, 400, "input 'images' has parameters.binary_data_size, but the request has no Inference-Header-Content-Length header")
        var both = input(128)
        both["inputs"] = [["name": "images", "shape": [2, 64], "datatype": "UINT8", "data": [1], "parameters": ["binary_data_size": 128]]]
        try assertError(try await binaryRequest(both, bytes), 400, "input 'images' has both 'data' and parameters.binary_data_size")
        try assertError(try await binaryRequest(input(8, shape: [2, 2], datatype: "FP64"), bytes), 400, "input 'images' has datatype 'FP64'")
        try assertError(try await binaryRequest(input(128, shape: [2, 63]), bytes), 400, "needs 126 bytes")
        try assertError(try await binaryRequest(input(0, shape: [0, 64]), []), 400, "batch size 0")
        let badOutput: [String: Any] = input(128).merging(["outputs": [["name": "classes", "parameters": ["binary_data": "yes"]]]]) { $1 }
        try assertError(try await binaryRequest(badOutput, bytes), 400, "outputs[0].parameters.binary_data")
        try await assertStillServing()
    }
}
