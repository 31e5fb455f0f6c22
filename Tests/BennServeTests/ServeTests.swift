import XCTest
import BennCore
import BennData
import BennEnsemble
import BennServe
import BennTensor
import BennTrain
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// 8x8 grey images whose class is the row holding bright pixels (as in BennEnsembleTests).
func syntheticImages(count: Int, seed: UInt64) throws -> LabeledImages {
    var state = seed
    func next(_ bound: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(state >> 33) % bound
    }
    var pixels = [UInt8](repeating: 0, count: count * 64), labels = [UInt8]()
    for i in 0..<count {
        let l = next(8)
        labels.append(UInt8(l))
        for p in 0..<64 { pixels[i * 64 + p] = UInt8(next(90)) }
        for x in 0..<8 where next(4) != 0 { pixels[i * 64 + l * 8 + x] = 255 }
    }
    return try LabeledImages(height: 8, width: 8, pixels: pixels, labels: labels, classNames: (0..<10).map { "class\($0)" })
}

/// One small artifact for every test: a bagging ensemble of 3 tinymlp members, trained
/// in-process on synthetic images, written and read back as a `.benn` file.
enum Fixture {
    static let directory: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("benn-serve-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    static let artifactPath: String = {
        Parallelism.threads = 2
        var s = TrainingSpec()
        s.model = "tinymlp"
        s.seed = 5
        s.train.epochs = 1
        s.train.batchSize = 16
        s.train.learningRate = 0.01
        s.ensemble.strategy = .bagging
        s.ensemble.members = 3
        let path = "\(directory)/tiny.benn"
        do {
            let data = try EnsembleData.make(spec: s, trainImages: syntheticImages(count: 96, seed: 1), testImages: syntheticImages(count: 16, seed: 2))
            let e = try EnsembleRunner.run(spec: s, data: data)
            try EnsembleArtifact(ensemble: e, classNames: (0..<10).map { "class\($0)" }, datasetHash: "test", bestPrefix: 3,
                                 environment: [:]).write(to: path)
        } catch { fatalError("cannot build the test artifact: \(error)") }
        return path
    }()

    static let images: LabeledImages = try! syntheticImages(count: 40, seed: 3)
}

/// Runs a blocking client call off Swift's cooperative threads (the server in this process
/// needs them).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        DispatchQueue.global().async { c.resume(with: Result { try body() }) }
    }
}

final class ServeTests: XCTestCase {
    var model: ServedModel!
    var server: ServeHandle!
    static let limit = 256 * 1024

    override func setUp() async throws {
        Parallelism.threads = 2
        model = try ServedModel(path: Fixture.artifactPath, threads: 2)
        var options = ServeOptions()
        options.port = 0
        options.maxBodyBytes = ServeTests.limit
        server = try await BennServer.start(model: model, options: options)
    }

    override func tearDown() async throws {
        await server?.stop()
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: Fixture.directory)
        super.tearDown()
    }

    // MARK: Helpers

    func request(_ method: String, _ path: String, body: [UInt8] = [], contentType: String? = "application/json",
                 headers: [(String, String)] = []) async throws -> LoopbackClient.Reply {
        let port = server.port
        return try await offPool {
            let client = try LoopbackClient(port: port)
            return try client.request(method, path, body: body, contentType: contentType, headers: headers)
        }
    }

    func json(_ reply: LoopbackClient.Reply, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(reply.body))
        return try XCTUnwrap(value as? [String: Any], "not a JSON object: \(reply.text)", file: file, line: line)
    }

    func inferBody(_ input: [String: Any], parameters: [String: Any]? = nil) throws -> [UInt8] {
        var body: [String: Any] = ["inputs": [input]]
        if let parameters { body["parameters"] = parameters }
        return [UInt8](try JSONSerialization.data(withJSONObject: body))
    }

    func output(_ response: [String: Any], _ name: String) throws -> [String: Any] {
        let outputs = try XCTUnwrap(response["outputs"] as? [[String: Any]])
        return try XCTUnwrap(outputs.first { $0["name"] as? String == name }, "no output \(name)")
    }

    /// An infer response decoded with JSONDecoder (JSONSerialization on Linux does not
    /// round doubles correctly, and the comparisons below are exact).
    struct V2Reply: Decodable {
        struct Output: Decodable {
            var name: String
            var shape: [Int]
            var datatype: String
            var numbers: [Double]?
            var strings: [String]?
            enum CodingKeys: String, CodingKey { case name, shape, datatype, data }
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                name = try c.decode(String.self, forKey: .name)
                shape = try c.decode([Int].self, forKey: .shape)
                datatype = try c.decode(String.self, forKey: .datatype)
                numbers = try? c.decode([Double].self, forKey: .data)
                strings = try? c.decode([String].self, forKey: .data)
            }
        }
        var model_name: String
        var id: String?
        var outputs: [Output]
        func output(_ name: String) throws -> Output { try XCTUnwrap(outputs.first { $0.name == name }, "no output \(name)") }
    }

    struct PredictReply: Decodable {
        var `class`: Int
        var class_name: String
        var probability: Float
        var probabilities: [Float]
        var member_classes: [Int]?
    }

    /// What EnsembleInference itself says for these images.
    func expected(_ bytes: [UInt8], count: Int) throws -> (classes: [Int], probabilities: [Float], scores: [Double], members: [[Int]]) {
        let artifact = try EnsembleArtifact.read(from: Fixture.artifactPath)
        let m = artifact.manifest
        let weights = Array(artifact.weights.prefix(m.bestPrefix))
        let inference = try EnsembleInference(networks: Array(try artifact.networks().prefix(m.bestPrefix)), weights: weights, rule: m.aggregation)
        var x = Tensor(shape: [count] + m.input.shape)
        for i in 0..<bytes.count { x[i] = Float(Double(bytes[i]) * m.input.scale + m.input.offset) }
        let outputs = inference.memberOutputs(x)
        let scores = Aggregator.combine(outputs, weights: weights, classes: 10, rule: m.aggregation)
        let total = weights.reduce(0, +)
        let probabilities = Aggregator.combine(outputs, weights: weights, classes: 10, rule: .softProbabilities).map { Float($0 / total) }
        let members = outputs.map { Aggregator.predictions($0.map(Double.init), classes: 10) }
        XCTAssertEqual(Aggregator.predictions(scores, classes: 10), Aggregator.predictions(inference.scores(x), classes: 10))
        return (Aggregator.predictions(scores, classes: 10), probabilities, scores, members)
    }

    func assertError(_ reply: LoopbackClient.Reply, _ status: Int, _ phrase: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(reply.status, status, reply.text, file: file, line: line)
        XCTAssertEqual(reply.headers["content-type"], "application/json", file: file, line: line)
        let message = try XCTUnwrap(try json(reply)["error"] as? String, file: file, line: line)
        XCTAssertTrue(message.contains(phrase), "'\(message)' does not mention '\(phrase)'", file: file, line: line)
    }

    func assertStillServing(file: StaticString = #filePath, line: UInt = #line) async throws {
        let r = try await request("GET", "/health")
        XCTAssertEqual(r.status, 200, file: file, line: line)
    }

    // MARK: Tests

    func testInferMatchesEnsembleInferenceExactly() async throws {
        let n = 12
        let bytes = Array(Fixture.images.pixels[0..<(n * 64)])
        let want = try expected(bytes, count: n)
        let variants: [[String: Any]] = [
            ["name": "images", "shape": [n, 8, 8, 1], "datatype": "UINT8", "data": bytes.map(Int.init)],
            ["name": "images", "shape": [n, 64], "datatype": "FP32", "data": bytes.map(Double.init)],
            // Nested data in the tensor's shape.
            ["name": "images", "shape": [n, 8, 8], "datatype": "UINT8",
             "data": (0..<n).map { i in (0..<8).map { r in bytes[(i * 64 + r * 8)..<(i * 64 + r * 8 + 8)].map(Int.init) } }],
        ]
        var bodies = try variants.map { try inferBody($0, parameters: ["per_member": true]) }
        // Model inputs (pixel · scale + offset) sent as they are, written as Swift prints floats.
        let m = model.manifest.input
        let inputs = bytes.map { Float(Double($0) * m.scale + m.offset).description }.joined(separator: ",")
        bodies.append(Array((#"{"inputs":[{"name":"images","shape":["# + "\(n),64" + #"],"datatype":"FP32","data":["# + inputs
            + #"]}],"parameters":{"per_member":true,"normalized":true}}"#).utf8))
        for body in bodies {
            let reply = try await request("POST", "/v2/models/tiny/infer", body: body)
            XCTAssertEqual(reply.status, 200, reply.text)
            let r = try JSONDecoder().decode(V2Reply.self, from: Data(reply.body))
            XCTAssertEqual(r.model_name, "tiny")
            let classes = try r.output("classes")
            XCTAssertEqual(classes.shape, [n])
            XCTAssertEqual(classes.datatype, "INT64")
            XCTAssertEqual(classes.numbers?.map { Int($0) }, want.classes)
            XCTAssertEqual(try r.output("class_names").strings, want.classes.map { "class\($0)" })
            let probabilities = try r.output("probabilities")
            XCTAssertEqual(probabilities.shape, [n, 10])
            XCTAssertEqual(probabilities.datatype, "FP32")
            XCTAssertEqual(probabilities.numbers?.map { Float($0) }, want.probabilities)
            XCTAssertEqual(try r.output("scores").numbers, want.scores)
            let members = try r.output("member_classes")
            XCTAssertEqual(members.shape, [n, 3])
            XCTAssertEqual(members.numbers?.map { Int($0) }, (0..<n).flatMap { i in want.members.map { $0[i] } })
        }
        // Asking for one output returns only it, and no per-member output by default.
        let body = try JSONSerialization.data(withJSONObject: [
            "id": "req-7", "inputs": [variants[0]], "outputs": [["name": "classes"]],
        ])
        let r = try json(try await request("POST", "/v2/models/tiny/infer", body: [UInt8](body)))
        XCTAssertEqual(r["id"] as? String, "req-7")
        XCTAssertEqual((r["outputs"] as? [[String: Any]])?.map { $0["name"] as? String }, ["classes"])
        XCTAssertEqual(try output(r, "classes")["data"] as? [Int], want.classes)
    }

    func testConcurrentRequestsGetTheirOwnAnswers() async throws {
        let port = server.port
        let batches = (0..<8).map { k in (k % 4 + 1, Array(Fixture.images.pixels[(k * 64)..<((k + k % 4 + 1) * 64)])) }
        let wants = try batches.map { try expected($0.1, count: $0.0).classes }
        let bodies = try batches.map { n, bytes in
            try inferBody(["name": "images", "shape": [n, 64], "datatype": "UINT8", "data": bytes.map(Int.init)])
        }
        let results = try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
            for (k, body) in bodies.enumerated() {
                group.addTask {
                    let reply = try await offPool {
                        let client = try LoopbackClient(port: port)
                        var last: LoopbackClient.Reply?
                        for _ in 0..<5 { last = try client.request("POST", "/v2/models/tiny/infer", body: body, contentType: "application/json") }
                        return last!
                    }
                    let outputs = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["outputs"] as? [[String: Any]])
                    return (k, outputs.first { $0["name"] as? String == "classes" }?["data"] as? [Int] ?? [])
                }
            }
            var out: [Int: [Int]] = [:]
            for try await (k, classes) in group { out[k] = classes }
            return out
        }
        for k in 0..<bodies.count { XCTAssertEqual(results[k], wants[k], "request \(k)") }
    }

    func testPNGPredict() async throws {
        for i in 0..<3 {
            let bytes = Array(Fixture.images.pixels[(i * 64)..<((i + 1) * 64)])
            let want = try expected(bytes, count: 1)
            let reply = try await request("POST", "/predict?per_member=true", body: TestPNG.encode(width: 8, height: 8, grey: bytes), contentType: "image/png")
            XCTAssertEqual(reply.status, 200, reply.text)
            let r = try JSONDecoder().decode(PredictReply.self, from: Data(reply.body))
            XCTAssertEqual(r.class, want.classes[0])
            XCTAssertEqual(r.class_name, "class\(want.classes[0])")
            XCTAssertEqual(r.probabilities, want.probabilities)
            XCTAssertEqual(r.probability, want.probabilities[want.classes[0]])
            XCTAssertEqual(r.member_classes, want.members.map { $0[0] })
        }
        let wrongSize = try await request("POST", "/predict", body: TestPNG.encode(width: 9, height: 8, grey: [UInt8](repeating: 7, count: 72)), contentType: "image/png")
        try assertError(wrongSize, 400, "9x8")
        try assertError(try await request("POST", "/predict", body: Array("not a png".utf8), contentType: "image/png"), 400, "not a PNG")
        try assertError(try await request("POST", "/predict", body: Array("a=b".utf8), contentType: "application/x-www-form-urlencoded"), 415, "PNG")
        var corrupt = TestPNG.encode(width: 8, height: 8, grey: [UInt8](repeating: 1, count: 64))
        corrupt[40] ^= 0xFF
        try assertError(try await request("POST", "/predict", body: corrupt, contentType: "image/png"), 400, "PNG")
        try await assertStillServing()
    }

    func testHealthAndMetadata() async throws {
        let health = try json(try await request("GET", "/health"))
        XCTAssertEqual(health["status"] as? String, "ok")
        XCTAssertEqual(health["model"] as? String, "tiny")
        XCTAssertEqual(health["members"] as? Int, 3)
        XCTAssertEqual(health["format_version"] as? Int, 1)
        XCTAssertNotNil(health["uptime_seconds"] as? Double)

        let meta = try json(try await request("GET", "/v2/models/tiny"))
        XCTAssertEqual(meta["name"] as? String, "tiny")
        let input = try XCTUnwrap((meta["inputs"] as? [[String: Any]])?.first)
        XCTAssertEqual(input["name"] as? String, "images")
        XCTAssertEqual(input["shape"] as? [Int], [-1, 8, 8, 1])
        XCTAssertEqual(input["datatype"] as? String, "UINT8")
        XCTAssertEqual((meta["outputs"] as? [[String: Any]])?.compactMap { $0["name"] as? String },
                       ["probabilities", "classes", "class_names", "scores", "member_classes"])
        let p = try XCTUnwrap(meta["parameters"] as? [String: Any])
        XCTAssertEqual(p["aggregation"] as? String, "soft_logits")
        XCTAssertEqual(p["members"] as? Int, 3)
        XCTAssertEqual(p["classes"] as? [String], (0..<10).map { "class\($0)" })

        do { let r = try await request("GET", "/v2/health/ready"); XCTAssertEqual(r.status, 200, r.text) }
        do { let r = try await request("GET", "/v2/models/tiny/ready"); XCTAssertEqual(r.status, 200, r.text) }
    }

    func testMetricsCountersIncrease() async throws {
        func metrics() async throws -> [String: Double] {
            let reply = try await request("GET", "/metrics")
            XCTAssertEqual(reply.status, 200)
            XCTAssertTrue(reply.headers["content-type"]?.hasPrefix("text/plain") ?? false)
            var values: [String: Double] = [:]
            for line in reply.text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                XCTAssertEqual(parts.count, 2, "bad exposition line '\(line)'")
                values[String(parts[0])] = Double(parts[1])
            }
            return values
        }
        let before = try await metrics()
        let n = 3
        let body = try inferBody(["name": "images", "shape": [n, 64], "datatype": "UINT8", "data": Fixture.images.pixels[0..<(n * 64)].map(Int.init)])
        do { let r = try await request("POST", "/v2/models/tiny/infer", body: body); XCTAssertEqual(r.status, 200, r.text) }
        do { let r = try await request("POST", "/v2/models/tiny/infer", body: Array("{".utf8)); XCTAssertEqual(r.status, 400, r.text) }
        do { let r = try await request("GET", "/v2/models/other"); XCTAssertEqual(r.status, 404, r.text) }
        let after = try await metrics()

        let ok = #"benn_http_requests_total{endpoint="/v2/models/{name}/infer",code="200"}"#
        let bad = #"benn_http_requests_total{endpoint="/v2/models/{name}/infer",code="400"}"#
        let missing = #"benn_http_requests_total{endpoint="/v2/models/{name}",code="404"}"#
        XCTAssertEqual(after[ok, default: 0] - before[ok, default: 0], 1)
        XCTAssertEqual(after[bad, default: 0] - before[bad, default: 0], 1)
        XCTAssertEqual(after[missing, default: 0] - before[missing, default: 0], 1)
        XCTAssertEqual(after["benn_inference_images_total", default: 0] - before["benn_inference_images_total", default: 0], Double(n))
        XCTAssertEqual(after["benn_inference_duration_seconds_count", default: 0] - before["benn_inference_duration_seconds_count", default: 0], 1)
        XCTAssertEqual(after[#"benn_inference_duration_seconds_bucket{le="+Inf"}"#], after["benn_inference_duration_seconds_count"])
        XCTAssertEqual(after[#"benn_model_members{model="tiny"}"#], 3)
        XCTAssertGreaterThan(after[#"benn_http_requests_total{endpoint="/metrics",code="200"}"#] ?? 0, 0)
        // Buckets are cumulative.
        let buckets = ServeMetrics.latencyBuckets.map { after["benn_inference_duration_seconds_bucket{le=\"\(Int(exactly: $0).map(String.init) ?? "\($0)")\"}"] ?? -1 }
        XCTAssertFalse(buckets.contains(-1), "missing buckets")
        XCTAssertEqual(buckets, buckets.sorted())
    }

    func testBadRequestsGetClearErrorsAndTheServerKeepsServing() async throws {
        let path = "/v2/models/tiny/infer"
        let good: [String: Any] = ["name": "images", "shape": [1, 64], "datatype": "UINT8", "data": [Int](repeating: 3, count: 64)]
        func with(_ changes: [String: Any]) -> [String: Any] { good.merging(changes) { $1 } }

        try assertError(try await request("POST", path, body: Array("{\"inputs\": [".utf8)), 400, "malformed JSON")
        try assertError(try await request("POST", path, body: Array("[1,2]".utf8)), 400, "must be a JSON object")
        try assertError(try await request("POST", path, body: Array("{}".utf8)), 400, "missing key 'inputs'")
        try assertError(try await request("POST", path, body: try inferBody(with(["shape": [1, 63]]))), 400, "shape [1, 63]")
        try assertError(try await request("POST", path, body: try inferBody(with(["shape": [1, 8, 8, 3]]))), 400, "[N, 8, 8, 1]")
        try assertError(try await request("POST", path, body: try inferBody(with(["shape": [0, 64], "data": [Int]()]))), 400, "batch size 0")
        try assertError(try await request("POST", path, body: try inferBody(with(["datatype": "FP16"]))), 400, "datatype 'FP16'")
        try assertError(try await request("POST", path, body: try inferBody(with(["data": [1, 2, 3]]))), 400, "has 3 values; shape [1, 64] needs 64")
        try assertError(try await request("POST", path, body: try inferBody(with(["data": ["NaN"] + [Int](repeating: 0, count: 63)]))), 400, "non-finite")
        try assertError(try await request("POST", path, body: try inferBody(with(["data": ["x"] + [Int](repeating: 0, count: 63)]))), 400, "data[0]")
        try assertError(try await request("POST", path, body: try inferBody(with(["data": [256] + [Int](repeating: 0, count: 63)]))), 400, "integers 0...255")
        try assertError(try await request("POST", path, body: try inferBody(with(["data": [1.5] + [Int](repeating: 0, count: 63)]))), 400, "integers 0...255")
        try assertError(try await request("POST", path, body: try inferBody(with(["datatype": "FP32", "data": [-1] + [Int](repeating: 0, count: 63)]))), 400, "0...255")
        try assertError(try await request("POST", path, body: Array((#"{"inputs":[{"name":"images","shape":[1,64],"datatype":"FP32","data":[1e999"# + String(repeating: ",0", count: 63) + "]}]}").utf8)), 400, "non-finite")
        try assertError(try await request("POST", path, body: [UInt8](repeating: UInt8(ascii: "["), count: 100_000)), 400, "nested deeper")
        try assertError(try await request("POST", path, body: try inferBody(with(["name": "pixels"]))), 400, "unknown input 'pixels'")
        try assertError(try await request("POST", path, body: try inferBody(good, parameters: ["per_member": "yes"])), 400, "parameters.per_member")
        try assertError(try await request("POST", path, body: [UInt8](try JSONSerialization.data(withJSONObject: ["inputs": [good], "outputs": [["name": "logits"]]]))), 400, "unknown output 'logits'")
        try assertError(try await request("POST", path, body: [UInt8](try JSONSerialization.data(withJSONObject: ["inputs": [good, good]]))), 400, "exactly one input")
        try assertError(try await request("POST", "/v2/models/other/infer", body: try inferBody(good)), 404, "unknown model 'other'")
        try assertError(try await request("GET", "/v2/models/other"), 404, "unknown model 'other'")
        try assertError(try await request("GET", "/nowhere"), 404, "no endpoint GET /nowhere")
        try await assertStillServing()

        // Too large: refused from Content-Length, and while reading a chunked body.
        let huge = [UInt8](repeating: UInt8(ascii: " "), count: ServeTests.limit + 1)
        try assertError(try await request("POST", path, body: huge), 413, "limit")
        let port = server.port
        let chunked = try await offPool { () -> LoopbackClient.Reply in
            let client = try LoopbackClient(port: port)
            var raw = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            for _ in 0..<5 { raw += Array("10000\r\n".utf8) + [UInt8](repeating: 32, count: 0x10000) + Array("\r\n".utf8) }
            raw += Array("0\r\n\r\n".utf8)
            return try client.raw(raw)
        }
        try assertError(chunked, 413, "limit")
        try await assertStillServing()

        // Not HTTP at all.
        let garbage = try await offPool { try LoopbackClient(port: port).raw(Array("\u{1}\u{2} NOT HTTP\r\n\r\n".utf8)) }
        XCTAssertEqual(garbage.status, 400)
        try await assertStillServing()

        // A well-formed request still gets its answer.
        do { let r = try await request("POST", path, body: try inferBody(good)); XCTAssertEqual(r.status, 200, r.text) }
    }

    func testURLSessionClient() async throws {
        // A standard client, to check nothing depends on the test client's habits.
        let url = URL(string: "http://127.0.0.1:\(server.port)/v2/models/tiny/infer")!
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let bytes = Array(Fixture.images.pixels[0..<128])
        request.httpBody = Data(try inferBody(["name": "images", "shape": [2, 8, 8, 1], "datatype": "UINT8", "data": bytes.map(Int.init)]))
        let (data, response) = try await URLSession.shared.data(for: request)
        XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 200)
        let r = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(try output(r, "classes")["data"] as? [Int], try expected(bytes, count: 2).classes)
    }

    func testLoadErrorsAreOneClearLine() throws {
        XCTAssertThrowsError(try ServedModel(path: "\(Fixture.directory)/missing.benn", threads: 1)) { e in
            XCTAssertTrue("\(e)".contains("missing.benn: no such file"), "\(e)")
        }
        let corrupt = "\(Fixture.directory)/corrupt.benn"
        var bytes = [UInt8](FileManager.default.contents(atPath: Fixture.artifactPath)!)
        bytes[bytes.count - 5] ^= 1
        _ = FileManager.default.createFile(atPath: corrupt, contents: Data(bytes))
        XCTAssertThrowsError(try ServedModel(path: corrupt, threads: 1)) { e in
            XCTAssertTrue("\(e)".hasPrefix("\(corrupt): "), "\(e)")
            XCTAssertFalse("\(e)".contains("\n"))
        }
        let notOne = "\(Fixture.directory)/text.benn"
        _ = FileManager.default.createFile(atPath: notOne, contents: Data("hello".utf8))
        XCTAssertThrowsError(try ServedModel(path: notOne, threads: 1))
    }

    /// A manifest whose input shape disagrees with its model is refused at load, with one
    /// line, rather than stopping the server at the first image of the advertised shape.
    func testManifestInputShapeDisagreeingWithTheModelIsRefusedAtLoad() throws {
        var a = try EnsembleArtifact.read(from: Fixture.artifactPath)
        a.manifest.input.shape = [4, 16, 1]
        let bad = "\(Fixture.directory)/wide.benn"
        try a.write(to: bad)
        let message = "the manifest's input shape [4, 16, 1] disagrees with its model 'tinymlp', built for [8, 8, 1] inputs"
        XCTAssertThrowsError(try ServedModel(path: bad, threads: 1)) { e in
            XCTAssertEqual("\(e)", "\(bad): \(message)")
        }
        XCTAssertThrowsError(try EnsembleArtifact.read(from: bad)) { e in
            XCTAssertEqual("\(e)", "\(bad): \(message)")
        }
        // An artifact built in memory is checked too.
        XCTAssertThrowsError(try ServedModel(artifact: a, path: bad, name: "wide", threads: 1)) { e in
            XCTAssertEqual("\(e)", "\(bad): \(message)")
        }
    }

    func testPortInUseIsReported() async throws {
        var options = ServeOptions()
        options.port = server.port
        do {
            let second = try await BennServer.start(model: model, options: options)
            await second.stop()
            XCTFail("a second server bound the same port")
        } catch {
            XCTAssertTrue("\(error)".contains("cannot listen on 127.0.0.1:\(server.port)"), "\(error)")
        }
        try await assertStillServing()
    }
}

final class JSONValueTests: XCTestCase {
    func testParsesWhatJSONAllows() throws {
        let v = try JSONValue.parse(Array(#" {"a": [1, -0, 0.1, -2.5e-3, 1E2, 123456789012345678, 9007199254740993], "s": "q\"\\\/\n\u00e9\ud83d\ude00", "t": true, "f": false, "n": null, "o": {}} "#.utf8))
        guard case .array(let numbers)? = v["a"] else { return XCTFail("no list") }
        let texts = ["1", "-0", "0.1", "-2.5e-3", "1E2", "123456789012345678", "9007199254740993"]
        // Integers are read exactly (`.int`); each reads as the Double its text denotes.
        XCTAssertEqual(numbers.map(\.doubleValue), texts.map { Double($0)! })
        XCTAssertEqual(numbers[5], .int(123456789012345678))
        XCTAssertEqual(numbers[6], .int(9007199254740993))
        XCTAssertEqual(v["s"], .string("q\"\\/\né😀"))
        XCTAssertEqual(v["t"], .bool(true))
        XCTAssertEqual(v["f"], .bool(false))
        XCTAssertEqual(v["n"], .null)
        XCTAssertEqual(v["o"], .object([:]))
    }

    func testRefusesWhatJSONDoesNot() {
        for bad in ["", "01", "1.", "-", "[1,]", "{\"a\":1,}", "tru", "\"\\x\"", "\"abc", "[1 2]", "{\"a\" 1}", "NaN", "[1]x", "{1:2}", "\"\u{1}\""] {
            XCTAssertThrowsError(try JSONValue.parse(Array(bad.utf8)), bad)
        }
        XCTAssertThrowsError(try JSONValue.parse(Array(repeating: UInt8(ascii: "["), count: 65) + Array(repeating: UInt8(ascii: "]"), count: 65)))
        XCTAssertNoThrow(try JSONValue.parse(Array(repeating: UInt8(ascii: "["), count: 64) + Array(repeating: UInt8(ascii: "]"), count: 64)))
    }
}

/// Writes grey 8-bit PNGs (stored deflate blocks, no compression) for the tests.
enum TestPNG {
    static func encode(width: Int, height: Int, grey: [UInt8]) -> [UInt8] {
        var raw: [UInt8] = []
        for r in 0..<height { raw.append(0); raw += grey[(r * width)..<((r + 1) * width)] }
        var z: [UInt8] = [0x78, 0x01, 0x01]
        let n = UInt16(raw.count)
        z += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8(~n >> 8)]
        z += raw
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        z += be32((b << 16) | a)
        var ihdr = be32(UInt32(width)) + be32(UInt32(height))
        ihdr += [8, 0, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", [])
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in body {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return be32(UInt32(data.count)) + body + be32(~crc)
    }
}
