import CZMQ

/// A CurveZMQ (Curve25519) long-term key pair, both keys as 40-character Z85 text.
///
/// `description` never prints the secret key.
public struct CurveKeyPair: Sendable, Hashable, CustomStringConvertible {
    /// The public key, shareable (it goes into allow lists and into clients' server key).
    public let publicKey: String
    /// The secret key; keep it out of logs.
    public let secretKey: String

    /// Rebuilds a key pair from its secret key, deriving the public key.
    public init(secretKey: String) throws {
        self.publicKey = try Self.publicKey(fromSecret: secretKey)
        self.secretKey = secretKey
    }

    private init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Generates a fresh key pair (`zmq_curve_keypair`).
    public static func generate() throws -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        return CurveKeyPair(publicKey: string(publicText), secretKey: string(secretText))
    }

    /// Derives the Z85 public key from a Z85 secret key (`zmq_curve_public`).
    public static func publicKey(fromSecret secretKey: String) throws -> String {
        guard isValidKey(secretKey) else {
            throw ZMQError(code: EINVAL, operation: "zmq_curve_public (secret key is not 40 Z85 characters)")
        }
        var publicText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicText, secretKey) == 0 else { throw ZMQError.last("zmq_curve_public") }
        return string(publicText)
    }

    /// True when `key` is 40 valid Z85 characters (32 key bytes).
    public static func isValidKey(_ key: String) -> Bool {
        key.utf8.count == 40 && (try? Z85.decode(key))?.count == 32
    }

    public var description: String { "CurveKeyPair(publicKey: \(publicKey), secretKey: <redacted>)" }

    private static func string(_ text: [CChar]) -> String {
        String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
