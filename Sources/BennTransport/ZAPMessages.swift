/// The outcome of one ZAP (RFC 27) authentication request, as reported to the
/// ``ZAPAuthenticator`` log callback.
public struct ZAPDecision: Sendable, Equatable {
    /// True when the handler answered `200`.
    public var accepted: Bool
    /// `"200"`, `"400"` or `"500"`.
    public var statusCode: String
    /// Human-readable reason sent back to libzmq.
    public var statusText: String
    /// The ZAP domain of the server socket (`ZMQ_ZAP_DOMAIN`, often empty).
    public var domain: String
    /// The client's IP address as libzmq reports it.
    public var address: String
    /// `"NULL"`, `"PLAIN"`, `"CURVE"` or `"GSSAPI"`.
    public var mechanism: String
    /// For CURVE: the client's long-term public key in Z85.
    public var clientPublicKey: String?
}

/// A parsed ZAP request (RFC 27): version, request id, domain, address, identity,
/// mechanism, then mechanism-specific credentials.
struct ZAPRequest: Equatable {
    var version: String
    var requestID: [UInt8]
    var domain: String
    var address: String
    var identity: [UInt8]
    var mechanism: String
    var credentials: [[UInt8]]

    /// Parses the request frames (without any envelope); nil when fewer than 6 frames.
    init?(frames: [[UInt8]]) {
        guard frames.count >= 6 else { return nil }
        version = String(decoding: frames[0], as: UTF8.self)
        requestID = frames[1]
        domain = String(decoding: frames[2], as: UTF8.self)
        address = String(decoding: frames[3], as: UTF8.self)
        identity = frames[4]
        mechanism = String(decoding: frames[5], as: UTF8.self)
        credentials = Array(frames[6...])
    }
}

/// ZAP reply frames: version "1.0", request id, status code, status text, user id, metadata.
func zapReply(requestID: [UInt8], status: String, text: String, userID: String = "") -> [[UInt8]] {
    [Array("1.0".utf8), requestID, Array(status.utf8), Array(text.utf8), Array(userID.utf8), []]
}

/// The allow-list policy: CURVE clients whose public key is in `allowed` get `200` with their
/// Z85 key as user id; every other request gets `400` (or `500` when malformed).
func zapEvaluate(_ frames: [[UInt8]], allowed: Set<String>) -> (reply: [[UInt8]], decision: ZAPDecision) {
    func refuse(_ status: String, _ text: String, _ request: ZAPRequest?, key: String? = nil) -> ([[UInt8]], ZAPDecision) {
        let decision = ZAPDecision(accepted: false, statusCode: status, statusText: text,
                                   domain: request?.domain ?? "", address: request?.address ?? "",
                                   mechanism: request?.mechanism ?? "", clientPublicKey: key)
        return (zapReply(requestID: request?.requestID ?? (frames.count > 1 ? frames[1] : []),
                         status: status, text: text), decision)
    }
    guard let request = ZAPRequest(frames: frames) else { return refuse("500", "malformed ZAP request", nil) }
    guard request.version == "1.0" else { return refuse("500", "unsupported ZAP version", request) }
    guard request.mechanism == "CURVE" else {
        return refuse("400", "mechanism \(request.mechanism) not allowed", request)
    }
    guard request.credentials.count == 1, request.credentials[0].count == 32,
          let key = try? Z85.encode(request.credentials[0]) else {
        return refuse("400", "malformed CURVE credentials", request)
    }
    guard allowed.contains(key) else { return refuse("400", "client key not allowed", request, key: key) }
    let decision = ZAPDecision(accepted: true, statusCode: "200", statusText: "OK", domain: request.domain,
                               address: request.address, mechanism: request.mechanism, clientPublicKey: key)
    return (zapReply(requestID: request.requestID, status: "200", text: "OK", userID: key), decision)
}
