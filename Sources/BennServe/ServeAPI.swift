import BennData
import BennEnsemble
import BennTensor
import BennTrain
import Foundation
import Hummingbird
import HTTPTypes

/// The endpoints. Every response is JSON (but `/metrics`); every refusal is
/// `{"error": "..."}` with a 4xx status naming what is wrong.
struct ServeAPI: Sendable {
    let model: ServedModel
    let metrics: ServeMetrics
    let maxBodyBytes: Int

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ in try self.health() }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: self.metrics.render(model: self.model))))
        }
        router.get("/v2") { _, _ in
            try ServeAPI.json(ServerMetadata(name: "benn", version: BennVersion.current, extensions: ["binary_tensor_data"]))
        }
        router.get("/v2/health/live") { _, _ in try ServeAPI.json(["live": true]) }
        router.get("/v2/health/ready") { _, _ in try ServeAPI.json(["ready": true]) }
        // Each model route also answers under /versions/<version> for the one version served.
        for prefix in ["/v2/models/:name", "/v2/models/:name/versions/:version"] {
            router.get(RouterPath(prefix)) { _, context in
                try self.checkName(context)
                return try ServeAPI.json(self.metadata())
            }
            router.get(RouterPath(prefix + "/ready")) { _, context in
                try self.checkName(context)
                return try ServeAPI.json(ModelReady(name: self.model.name, ready: true))
            }
            router.post(RouterPath(prefix + "/infer")) { request, context in
                try self.checkName(context)
                return try await self.infer(request)
            }
        }
        router.post("/predict") { request, _ in try await self.predictPNG(request) }
    }

    // MARK: Endpoints

    struct Health: Encodable {
        var status: String
        var model: String
        var artifact: String
        var members: Int
        var membersTotal: Int
        var formatVersion: Int
        var uptimeSeconds: Double
        var bennVersion: String
        enum CodingKeys: String, CodingKey {
            case status, model, artifact, members, membersTotal = "members_total", formatVersion = "format_version"
            case uptimeSeconds = "uptime_seconds", bennVersion = "benn_version"
        }
    }

    func health() throws -> Response {
        try ServeAPI.json(Health(status: "ok", model: model.name, artifact: model.path, members: model.members,
                                 membersTotal: model.manifest.members.count, formatVersion: model.manifest.formatVersion,
                                 uptimeSeconds: (metrics.uptimeSeconds * 1000).rounded() / 1000, bennVersion: BennVersion.current))
    }

    /// The V2 model ready response: `{"name": ..., "ready": true}`.
    struct ModelReady: Encodable {
        var name: String
        var ready: Bool
    }

    /// The one version served (`versions` in the metadata, `model_version` in responses).
    static let version = "1"

    struct ServerMetadata: Encodable {
        var name: String
        var version: String
        var extensions: [String]
    }

    struct TensorMetadata: Encodable {
        var name: String
        var datatype: String
        var shape: [Int]
        var parameters: [String: [String]]?
    }

    struct ModelMetadata: Encodable {
        struct Parameters: Encodable {
            var model: String
            var strategy: String
            var aggregation: String
            var members: Int
            var membersTotal: Int
            var memberWeights: [Double]
            var classes: [String]
            var inputScale: Double
            var inputOffset: Double
            var formatVersion: Int
            var datasetHash: String
            var bennVersion: String
            enum CodingKeys: String, CodingKey {
                case model, strategy, aggregation, members, membersTotal = "members_total", memberWeights = "member_weights", classes
                case inputScale = "input_scale", inputOffset = "input_offset", formatVersion = "format_version"
                case datasetHash = "dataset_hash", bennVersion = "benn_version"
            }
        }
        var name: String
        var versions: [String]
        var platform: String
        var inputs: [TensorMetadata]
        var outputs: [TensorMetadata]
        var parameters: Parameters
    }

    func metadata() -> ModelMetadata {
        let m = model.manifest
        let s = m.input.shape
        let pixels = model.pixelsPerImage
        let c = m.classNames.count
        var shapes = ["[-1, \(s[0]), \(s[1]), \(s[2])]", "[-1, \(pixels)]"]
        if s[2] == 1 { shapes.append("[-1, \(s[0]), \(s[1])]") }
        return ModelMetadata(
            name: model.name, versions: [ServeAPI.version], platform: "benn",
            inputs: [TensorMetadata(name: InferInput.inputName, datatype: "UINT8", shape: [-1] + s,
                                    parameters: ["datatypes": ["UINT8", "FP32"], "shapes": shapes])],
            outputs: [
                TensorMetadata(name: "probabilities", datatype: "FP32", shape: [-1, c]),
                TensorMetadata(name: "classes", datatype: "INT64", shape: [-1]),
                TensorMetadata(name: "class_names", datatype: "BYTES", shape: [-1]),
                TensorMetadata(name: "scores", datatype: "FP64", shape: [-1, c]),
                TensorMetadata(name: "member_classes", datatype: "INT64", shape: [-1, model.members]),
            ],
            parameters: .init(model: m.model.name, strategy: m.strategy.rawValue, aggregation: m.aggregation.rawValue,
                              members: model.members, membersTotal: m.members.count, memberWeights: model.weights,
                              classes: m.classNames, inputScale: m.input.scale, inputOffset: m.input.offset,
                              formatVersion: m.formatVersion, datasetHash: m.provenance.datasetHash,
                              bennVersion: m.provenance.bennVersion))
    }

    func infer(_ request: Request) async throws -> Response {
        let body = try await readBody(request)
        var jsonLength: Int?
        if let text = request.headers[ServeAPI.inferenceHeaderContentLength] {
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw ServeError.badRequest("Inference-Header-Content-Length '\(text)' is not a byte count")
            }
            jsonLength = n
        }
        let decoded = try InferRequest(body: body, jsonLength: jsonLength)
        let x = try InferInput.tensor(from: decoded, model: model)
        let names = try InferInput.requestedOutputs(decoded)
        let prediction = await model.predict(x, perMember: names.contains("member_classes"))
        metrics.recordInference(images: prediction.count, seconds: prediction.seconds)
        var outputs = InferInput.outputs(prediction, names: names, model: model)
        let binaryNames = InferInput.binaryOutputs(decoded)
        var binary: [UInt8] = []
        for k in outputs.indices where binaryNames.contains(outputs[k].name) {
            let bytes = outputs[k].data.littleEndianBytes
            outputs[k].binaryDataSize = bytes.count
            binary += bytes
        }
        let response = InferResponse(modelName: model.name, modelVersion: ServeAPI.version, id: decoded.id, outputs: outputs)
        guard outputs.contains(where: { $0.binaryDataSize != nil }) else { return try ServeAPI.json(response) }
        let json = try ServeAPI.encode(response)
        var buffer = ByteBuffer()
        buffer.writeBytes(json)
        buffer.writeBytes(binary)
        return Response(status: .ok, headers: [.contentType: "application/octet-stream", ServeAPI.inferenceHeaderContentLength: String(json.count)],
                        body: .init(byteBuffer: buffer))
    }

    /// The binary data extension's header: the length of the JSON part of a body.
    static let inferenceHeaderContentLength = HTTPField.Name("Inference-Header-Content-Length")!

    struct PredictResponse: Encodable {
        var modelName: String
        var `class`: Int
        var className: String
        var probability: Float
        var probabilities: [Float]
        var memberClasses: [Int]?
        enum CodingKeys: String, CodingKey {
            case modelName = "model_name", `class`, className = "class_name", probability, probabilities, memberClasses = "member_classes"
        }
    }

    /// One PNG image (the request body) -> its class.
    func predictPNG(_ request: Request) async throws -> Response {
        let body = try await readBody(request)
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard body.count >= 8, Array(body[0..<8]) == signature else {
            if contentType.hasPrefix("image/png") { throw ServeError.badRequest("the body is not a PNG image (wrong signature)") }
            throw ServeError(415, "POST /predict takes one PNG image as the body (Content-Type: image/png); got \(contentType.isEmpty ? "no Content-Type" : "'\(contentType)'")")
        }
        let s = model.inputShape
        guard s[2] == 1 else { throw ServeError.badRequest("this model takes \(s[2])-channel images; PNG predictions need a grey model (use /v2/models/\(model.name)/infer)") }
        // Check the size in IHDR before decoding, so no huge picture gets decompressed.
        guard body.count >= 24, String(decoding: body[12..<16], as: UTF8.self) == "IHDR" else {
            throw ServeError.badRequest("the PNG image has no IHDR chunk first")
        }
        func u32(_ i: Int) -> Int { Int(body[i]) << 24 | Int(body[i + 1]) << 16 | Int(body[i + 2]) << 8 | Int(body[i + 3]) }
        let (width, height) = (u32(16), u32(20))
        guard width == s[1], height == s[0] else {
            throw ServeError.badRequest("the image is \(width)x\(height); the model takes \(s[1])x\(s[0]) grey images")
        }
        let png: PNGImage
        do { png = try PNGImage.decode(body, path: "body") } catch {
            throw ServeError.badRequest("cannot decode the PNG image: \(error)")
        }
        guard png.width == s[1], png.height == s[0], png.pixels.count == model.pixelsPerImage else {
            throw ServeError.badRequest("the image is \(png.width)x\(png.height); the model takes \(s[1])x\(s[0]) grey images")
        }
        let perMember = ["1", "true", "yes"].contains(request.uri.queryParameters.get("per_member")?.lowercased() ?? "")
        let prediction = await model.predict(model.modelInputs(pixels: png.pixels, count: 1), perMember: perMember)
        metrics.recordInference(images: 1, seconds: prediction.seconds)
        let k = prediction.classes[0]
        return try ServeAPI.json(PredictResponse(modelName: model.name, class: k, className: model.classNames[k],
                                                 probability: prediction.probabilities[k], probabilities: prediction.probabilities,
                                                 memberClasses: prediction.memberClasses))
    }

    // MARK: Helpers

    func checkName(_ context: BasicRequestContext) throws {
        let name = context.parameters.get("name") ?? ""
        guard name == model.name else {
            throw ServeError(404, "unknown model '\(name)'; this server serves '\(model.name)'")
        }
        if let version = context.parameters.get("version"), version != ServeAPI.version {
            throw ServeError(404, "unknown version '\(version)' of model '\(model.name)'; versions: \(ServeAPI.version)")
        }
    }

    /// The whole body, or 413 past the limit (refused from Content-Length before reading).
    func readBody(_ request: Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            throw ServeError(413, "the body has \(length) bytes; the limit is \(maxBodyBytes) (--max-body-bytes)")
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: maxBodyBytes) } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw ServeError(413, "the body is larger than the limit of \(maxBodyBytes) bytes (--max-body-bytes)")
        }
        return Array(buffer.readableBytesView)
    }

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try encoder.encode(value)
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ e: ServeError) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = (try? encoder.encode(["error": e.message])) ?? Data(#"{"error":"unknown"}"#.utf8)
        return Response(status: HTTPResponse.Status(code: e.code), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The route pattern a path belongs to (bounded label values for metrics).
    static func endpointLabel(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        switch parts.count {
        case 1 where ["health", "metrics", "predict", "v2"].contains(parts[0]): return "/" + parts[0]
        case 3 where parts[0] == "v2" && parts[1] == "health" && (parts[2] == "live" || parts[2] == "ready"): return "/v2/health/\(parts[2])"
        case 3 where parts[0] == "v2" && parts[1] == "models": return "/v2/models/{name}"
        case 4 where parts[0] == "v2" && parts[1] == "models" && (parts[3] == "infer" || parts[3] == "ready"): return "/v2/models/{name}/\(parts[3])"
        case 5 where parts[0] == "v2" && parts[1] == "models" && parts[3] == "versions": return "/v2/models/{name}/versions/{version}"
        case 6 where parts[0] == "v2" && parts[1] == "models" && parts[3] == "versions" && (parts[5] == "infer" || parts[5] == "ready"):
            return "/v2/models/{name}/versions/{version}/\(parts[5])"
        default: return "other"
        }
    }
}
