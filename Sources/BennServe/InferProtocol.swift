import BennCore
import BennTensor
import Foundation

/// A request the server refuses, with the HTTP status and the message sent back as
/// `{"error": message}`.
public struct ServeError: Error, CustomStringConvertible, Sendable {
    /// The HTTP status code.
    public let code: Int
    public let message: String
    public init(_ code: Int, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }

    static func badRequest(_ m: String) -> ServeError { ServeError(400, m) }
}

// MARK: - Open Inference Protocol (KServe V2) request and response bodies

/// `POST /v2/models/<name>/infer` body (the subset this server reads).
public struct InferRequest: Sendable {
    public var id: String?
    public var inputs: [InputTensor]
    public var outputs: [RequestedOutput]?
    public var parameters: Parameters?

    public struct InputTensor: Sendable {
        public var name: String
        public var shape: [Int]
        public var datatype: String
        /// The data, flattened in row-major order (nested lists are accepted); with
        /// `binaryDataSize`, read from the body's binary section.
        public var data: [Double]
        /// `parameters.binary_data_size`: the data are this many raw little-endian bytes
        /// after the JSON (binary data extension).
        public var binaryDataSize: Int?
    }

    public struct RequestedOutput: Sendable {
        public var name: String
        /// `parameters.binary_data`: return this output as raw bytes after the JSON.
        public var binaryData: Bool?
    }

    public struct Parameters: Sendable {
        /// Also return each member's class per image (`member_classes`).
        public var perMember: Bool?
        /// FP32 data are model inputs (pixel · scale + offset) rather than pixel values.
        public var normalized: Bool?
        /// `binary_data_output`: outputs without their own `binary_data` come back binary.
        public var binaryDataOutput: Bool?
    }

    /// A body of the binary data extension: `jsonLength` bytes of JSON (the
    /// `Inference-Header-Content-Length` header) then the inputs' raw bytes in input order;
    /// without the header, the whole body is JSON.
    public init(body: [UInt8], jsonLength: Int?) throws(ServeError) {
        guard let jsonLength else {
            try self.init(json: body)
            if let input = inputs.first(where: { $0.binaryDataSize != nil }) {
                throw .badRequest("input '\(input.name)' has parameters.binary_data_size, but the request has no Inference-Header-Content-Length header")
            }
            return
        }
        guard jsonLength >= 0, jsonLength <= body.count else {
            throw .badRequest("Inference-Header-Content-Length is \(jsonLength), but the body has \(body.count) bytes")
        }
        try self.init(json: Array(body[0..<jsonLength]))
        var offset = jsonLength
        for k in inputs.indices {
            guard let size = inputs[k].binaryDataSize else { continue }
            let input = inputs[k]
            let width: Int
            switch input.datatype {
            case "UINT8": width = 1
            case "FP32": width = 4
            default: throw .badRequest("input '\(input.name)' has datatype '\(input.datatype)'; supported: UINT8 (pixel bytes), FP32 (pixel values 0...255)")
            }
            var count = 1
            for d in input.shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow else { throw .badRequest("input '\(input.name)' has shape \(input.shape), which holds no whole number of values") }
                count = product
            }
            let (needed, overflow) = count.multipliedReportingOverflow(by: width)
            guard !overflow, size == needed else {
                throw .badRequest("input '\(input.name)' has binary_data_size \(size); shape \(input.shape) of \(input.datatype) needs \(overflow ? "more" : String(needed)) bytes")
            }
            guard size <= body.count - offset else {
                throw .badRequest("input '\(input.name)' has binary_data_size \(size), but only \(body.count - offset) bytes of binary data are left in the body")
            }
            var data = [Double]()
            data.reserveCapacity(count)
            body.withUnsafeBufferPointer { b in
                if width == 1 {
                    for i in 0..<count { data.append(Double(b[offset + i])) }
                } else {
                    for i in 0..<count {
                        let j = offset + 4 * i
                        let bits = UInt32(b[j]) | UInt32(b[j + 1]) << 8 | UInt32(b[j + 2]) << 16 | UInt32(b[j + 3]) << 24
                        data.append(Double(Float(bitPattern: bits)))
                    }
                }
            }
            inputs[k].data = data
            offset += size
        }
        guard offset == body.count else {
            throw .badRequest("the body has \(body.count - offset) bytes after the JSON and the inputs' binary data "
                + "(Inference-Header-Content-Length \(jsonLength), binary_data_size \(offset - jsonLength) in all)")
        }
    }

    /// Parses a JSON body, or names what is wrong with it.
    public init(json bytes: [UInt8]) throws(ServeError) {
        let root: JSONValue
        do { root = try JSONValue.parse(bytes) } catch { throw .badRequest("malformed JSON at byte \(error.offset): \(error.problem)") }
        guard case .object(let body) = root else { throw .badRequest("the body must be a JSON object, not \(root.kind)") }
        func wrong(_ path: String, _ expected: String, _ v: JSONValue) -> ServeError {
            .badRequest("wrong type at \(path): expected \(expected), found \(v.kind)")
        }
        switch body["id"] {
        case nil, .null?: id = nil
        case .string(let s)?: id = s
        case let v?: throw wrong("id", "a string", v)
        }
        guard let inputsValue = body["inputs"] else { throw .badRequest("missing key 'inputs' in the body") }
        guard case .array(let list) = inputsValue else { throw wrong("inputs", "a list", inputsValue) }
        var inputs: [InputTensor] = []
        for (k, item) in list.enumerated() {
            let at = "inputs[\(k)]"
            guard case .object(let o) = item else { throw wrong(at, "an object", item) }
            func field(_ key: String) throws(ServeError) -> JSONValue {
                guard let v = o[key] else { throw .badRequest("missing key '\(key)' in \(at)") }
                return v
            }
            guard case .string(let name) = try field("name") else { throw wrong("\(at).name", "a string", try field("name")) }
            guard case .string(let datatype) = try field("datatype") else { throw wrong("\(at).datatype", "a string", try field("datatype")) }
            guard case .array(let dims) = try field("shape") else { throw wrong("\(at).shape", "a list", try field("shape")) }
            var shape: [Int] = []
            for (d, dim) in dims.enumerated() {
                guard let v = dim.intValue, v.magnitude < 1_000_000_000_000_000 else {
                    throw wrong("\(at).shape[\(d)]", "an integer", dim)
                }
                shape.append(v)
            }
            var binaryDataSize: Int?
            switch o["parameters"] {
            case nil, .null?: break
            case .object(let p)?:
                switch p["binary_data_size"] {
                case nil, .null?: break
                case let v?:
                    guard let size = v.intValue, size >= 0 else { throw wrong("\(at).parameters.binary_data_size", "a byte count", v) }
                    binaryDataSize = size
                }
            case let v?: throw wrong("\(at).parameters", "an object", v)
            }
            var data: [Double] = []
            if binaryDataSize != nil {
                guard o["data"] == nil else {
                    throw .badRequest("input '\(name)' has both 'data' and parameters.binary_data_size; give one")
                }
            } else {
                try InferRequest.flatten(try field("data"), path: "\(at).data", into: &data)
            }
            inputs.append(InputTensor(name: name, shape: shape, datatype: datatype, data: data, binaryDataSize: binaryDataSize))
        }
        self.inputs = inputs
        switch body["outputs"] {
        case nil, .null?: outputs = nil
        case .array(let list)?:
            var outs: [RequestedOutput] = []
            for (k, item) in list.enumerated() {
                guard case .string(let name)? = item["name"] else { throw wrong("outputs[\(k)].name", "a string", item["name"] ?? .null) }
                var binaryData: Bool?
                switch item["parameters"] {
                case nil, .null?: break
                case .object(let p)?:
                    switch p["binary_data"] {
                    case nil, .null?: break
                    case .bool(let b)?: binaryData = b
                    case let v?: throw wrong("outputs[\(k)].parameters.binary_data", "true or false", v)
                    }
                case let v?: throw wrong("outputs[\(k)].parameters", "an object", v)
                }
                outs.append(RequestedOutput(name: name, binaryData: binaryData))
            }
            outputs = outs
        case let v?: throw wrong("outputs", "a list", v)
        }
        switch body["parameters"] {
        case nil, .null?: parameters = nil
        case .object(let o)?:
            func flag(_ key: String) throws(ServeError) -> Bool? {
                switch o[key] {
                case nil, .null?: return nil
                case .bool(let b)?: return b
                case let v?: throw wrong("parameters.\(key)", "true or false", v)
                }
            }
            parameters = Parameters(perMember: try flag("per_member"), normalized: try flag("normalized"),
                                    binaryDataOutput: try flag("binary_data_output"))
        case let v?: throw wrong("parameters", "an object", v)
        }
    }

    /// Numbers of a tensor's data in row-major order; "NaN", "Infinity" and "-Infinity"
    /// strings stand for the non-finite values (refused later with their index).
    static func flatten(_ v: JSONValue, path: String, into out: inout [Double]) throws(ServeError) {
        guard case .array(let items) = v else { throw .badRequest("wrong type at \(path): expected a list, found \(v.kind)") }
        out.reserveCapacity(out.count + items.count)
        for (k, item) in items.enumerated() {
            if let x = item.doubleValue { out.append(x); continue }
            switch item {
            case .array: try flatten(item, path: "\(path)[\(k)]", into: &out)
            case .string("NaN"): out.append(.nan)
            case .string("Infinity"): out.append(.infinity)
            case .string("-Infinity"): out.append(-.infinity)
            default: throw .badRequest("wrong type at \(path)[\(k)]: expected a number, found \(item.kind)")
            }
        }
    }
}

/// One output tensor of an infer response.
public struct OutputTensor: Encodable, Sendable {
    public var name: String
    public var shape: [Int]
    public var datatype: String
    public var data: TensorData
    /// Set when the data go after the JSON as raw bytes (binary data extension): the JSON
    /// then has `parameters.binary_data_size` instead of `data`.
    public var binaryDataSize: Int?

    public init(name: String, shape: [Int], datatype: String, data: TensorData) {
        self.name = name
        self.shape = shape
        self.datatype = datatype
        self.data = data
    }

    enum CodingKeys: String, CodingKey { case name, shape, datatype, data, parameters }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(shape, forKey: .shape)
        try c.encode(datatype, forKey: .datatype)
        if let binaryDataSize {
            try c.encode(["binary_data_size": binaryDataSize], forKey: .parameters)
        } else {
            try c.encode(data, forKey: .data)
        }
    }

    public enum TensorData: Encodable, Sendable {
        case fp32([Float])
        case fp64([Double])
        case int64([Int])
        case bytes([String])

        /// The raw little-endian bytes of the binary data extension (BYTES elements as a
        /// 4-byte little-endian length and the UTF-8 bytes).
        public var littleEndianBytes: [UInt8] {
            var out: [UInt8] = []
            func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
            switch self {
            case .fp32(let v): out.reserveCapacity(4 * v.count); for x in v { append(x.bitPattern) }
            case .fp64(let v): out.reserveCapacity(8 * v.count); for x in v { append(x.bitPattern) }
            case .int64(let v): out.reserveCapacity(8 * v.count); for x in v { append(Int64(x)) }
            case .bytes(let v): for x in v { let u = Array(x.utf8); append(UInt32(u.count)); out += u }
            }
            return out
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .fp32(let v): try c.encode(v)
            case .fp64(let v): try c.encode(v)
            case .int64(let v): try c.encode(v)
            case .bytes(let v): try c.encode(v)
            }
        }
    }
}

public struct InferResponse: Encodable, Sendable {
    public var modelName: String
    public var modelVersion: String
    public var id: String?
    public var outputs: [OutputTensor]
    enum CodingKeys: String, CodingKey {
        case modelName = "model_name", modelVersion = "model_version", id, outputs
    }
}

// MARK: - Validation

/// Turns a decoded infer request into model inputs, or a ServeError naming what is wrong.
public enum InferInput {
    public static let inputName = "images"
    public static let outputNames = ["probabilities", "classes", "class_names", "scores", "member_classes"]

    /// The batch size and the model input tensor `[n] + inputShape`.
    public static func tensor(from request: InferRequest, model: ServedModel) throws(ServeError) -> Tensor {
        guard request.inputs.count == 1 else {
            throw .badRequest("expected exactly one input tensor named '\(inputName)', got \(request.inputs.count)")
        }
        let input = request.inputs[0]
        guard input.name == inputName else {
            throw .badRequest("unknown input '\(input.name)'; this model has one input, '\(inputName)'")
        }
        guard input.datatype == "UINT8" || input.datatype == "FP32" else {
            throw .badRequest("input '\(inputName)' has datatype '\(input.datatype)'; supported: UINT8 (pixel bytes), FP32 (pixel values 0...255)")
        }
        let shape = model.inputShape
        let (h, w, ch) = (shape[0], shape[1], shape[2])
        let pixels = model.pixelsPerImage
        let accepted = "[N, \(h), \(w), \(ch)] or [N, \(pixels)]" + (ch == 1 ? " or [N, \(h), \(w)]" : "")
        let s = input.shape
        let shapeOK = (s.count == 4 && Array(s[1...]) == shape)
            || (s.count == 2 && s[1] == pixels)
            || (ch == 1 && s.count == 3 && s[1] == h && s[2] == w)
        guard shapeOK, let n = s.first else {
            throw .badRequest("input '\(inputName)' has shape \(s); this model takes \(accepted)")
        }
        guard n >= 1 else { throw .badRequest("input '\(inputName)' has batch size \(n); at least 1 image is needed") }
        let data = input.data
        guard data.count == n * pixels else {
            throw .badRequest("input '\(inputName)' has \(data.count) values; shape \(s) needs \(n * pixels)")
        }
        if let bad = data.firstIndex(where: { !$0.isFinite }) {
            throw .badRequest("input '\(inputName)' has a non-finite value (\(data[bad])) at index \(bad)")
        }
        let normalized = request.parameters?.normalized ?? false
        let scale = model.manifest.input.scale, offset = model.manifest.input.offset
        var x = Tensor(uninitializedShape: [n] + shape)
        switch input.datatype {
        case "UINT8":
            guard !normalized else { throw .badRequest("parameter 'normalized' applies to FP32 data only") }
            if let bad = data.firstIndex(where: { $0 < 0 || $0 > 255 || $0.rounded() != $0 }) {
                throw .badRequest("input '\(inputName)' is UINT8 but holds \(data[bad]) at index \(bad) (integers 0...255 expected)")
            }
            // Same arithmetic as `benn predict` on image bytes.
            x.withMutablePointer { p in
                for i in 0..<data.count { p[i] = Float(Double(UInt8(data[i])) * scale + offset) }
            }
        case "FP32":
            if normalized {
                if let bad = data.firstIndex(where: { !Float($0).isFinite }) {
                    throw .badRequest("input '\(inputName)' has a value outside FP32's range (\(data[bad])) at index \(bad)")
                }
                x.withMutablePointer { p in
                    for i in 0..<data.count { p[i] = Float(data[i]) }
                }
            } else {
                if let bad = data.firstIndex(where: { $0 < 0 || $0 > 255 }) {
                    throw .badRequest("input '\(inputName)' holds \(data[bad]) at index \(bad); FP32 data are pixel values in 0...255 "
                        + "(or model inputs with parameters.normalized = true)")
                }
                x.withMutablePointer { p in
                    for i in 0..<data.count { p[i] = Float(Double(Float(data[i])) * scale + offset) }
                }
            }
        default:
            throw .badRequest("input '\(inputName)' has datatype '\(input.datatype)'; supported: UINT8 (pixel bytes), FP32 (pixel values 0...255)")
        }
        return x
    }

    /// The output names a request asks for (all but `member_classes` by default).
    public static func requestedOutputs(_ request: InferRequest) throws(ServeError) -> [String] {
        let perMember = request.parameters?.perMember ?? false
        guard let asked = request.outputs, !asked.isEmpty else {
            return ["probabilities", "classes", "class_names", "scores"] + (perMember ? ["member_classes"] : [])
        }
        for o in asked where !outputNames.contains(o.name) {
            throw .badRequest("unknown output '\(o.name)'; outputs: \(outputNames.joined(separator: ", "))")
        }
        var names = asked.map(\.name)
        if perMember, !names.contains("member_classes") { names.append("member_classes") }
        return names
    }

    /// The outputs to send as raw bytes: those asked with `binary_data: true`, and the others
    /// when the request's `binary_data_output` is true.
    public static func binaryOutputs(_ request: InferRequest) -> Set<String> {
        let byDefault = request.parameters?.binaryDataOutput ?? false
        var names = Set<String>()
        for name in outputNames {
            if let own = request.outputs?.first(where: { $0.name == name })?.binaryData ?? nil {
                if own { names.insert(name) }
            } else if byDefault {
                names.insert(name)
            }
        }
        return names
    }

    public static func outputs(_ p: ServedModel.Prediction, names: [String], model: ServedModel) -> [OutputTensor] {
        let n = p.count, c = p.classCount
        return names.compactMap { name in
            switch name {
            case "probabilities": return OutputTensor(name: name, shape: [n, c], datatype: "FP32", data: .fp32(p.probabilities))
            case "scores": return OutputTensor(name: name, shape: [n, c], datatype: "FP64", data: .fp64(p.scores))
            case "classes": return OutputTensor(name: name, shape: [n], datatype: "INT64", data: .int64(p.classes))
            case "class_names": return OutputTensor(name: name, shape: [n], datatype: "BYTES", data: .bytes(p.classes.map { model.classNames[$0] }))
            case "member_classes":
                guard let mc = p.memberClasses else { return nil }
                return OutputTensor(name: name, shape: [n, model.members], datatype: "INT64", data: .int64(mc))
            default: return nil
            }
        }
    }
}

extension JSONValue {
    /// An HTTP request body: at most 64 levels of nesting (KServe V2 bodies need three).
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        try decode(bytes, maxDepth: 64)
    }
}
