import CZMQ

/// CurveZMQ security (RFC 26). Configure before ``ZMQSocket/bind(_:)`` /
/// ``ZMQSocket/connect(_:)``.
extension ZMQSocket {
    /// Makes this socket a CURVE server with the given long-term key pair
    /// (`ZMQ_CURVE_SERVER = 1`, `ZMQ_CURVE_SECRETKEY`, `ZMQ_CURVE_PUBLICKEY`).
    ///
    /// Clients are authenticated by the context's ZAP handler when one is bound (see
    /// ``ZAPAuthenticator``, which must be started **before** this socket binds); without a
    /// handler libzmq admits any client that knows the server's public key.
    public func makeCurveServer(keyPair: CurveKeyPair) throws {
        try setOption(ZMQ_CURVE_SERVER, Int32(1), "ZMQ_CURVE_SERVER")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: try Self.keyBytes(keyPair.secretKey, "secret"), "ZMQ_CURVE_SECRETKEY")
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: try Self.keyBytes(keyPair.publicKey, "public"), "ZMQ_CURVE_PUBLICKEY")
    }

    /// Makes this socket a CURVE client: its own long-term key pair plus the server's public
    /// key (`ZMQ_CURVE_PUBLICKEY`, `ZMQ_CURVE_SECRETKEY`, `ZMQ_CURVE_SERVERKEY`).
    public func makeCurveClient(keyPair: CurveKeyPair, serverPublicKey: String) throws {
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: try Self.keyBytes(keyPair.publicKey, "public"), "ZMQ_CURVE_PUBLICKEY")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: try Self.keyBytes(keyPair.secretKey, "secret"), "ZMQ_CURVE_SECRETKEY")
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: try Self.keyBytes(serverPublicKey, "server"), "ZMQ_CURVE_SERVERKEY")
    }

    /// The ZAP domain passed to the authenticator (`ZMQ_ZAP_DOMAIN`). Setting it also makes a
    /// NULL-mechanism socket consult the ZAP handler.
    public func setZAPDomain(_ domain: String) throws {
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8), "ZMQ_ZAP_DOMAIN")
    }

    private static func keyBytes(_ key: String, _ role: String) throws -> [UInt8] {
        guard key.utf8.count == 40, let bytes = try? Z85.decode(key), bytes.count == 32 else {
            throw ZMQError(code: EINVAL, operation: "CURVE \(role) key is not 40 Z85 characters")
        }
        return bytes
    }
}
