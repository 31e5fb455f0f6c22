import CZMQ

/// Z85 text encoding (ZeroMQ RFC 32), as used for CURVE keys.
public enum Z85 {
    /// Encodes bytes; the count must be a multiple of 4 (a 32-byte key gives 40 characters).
    public static func encode(_ bytes: [UInt8]) throws -> String {
        guard bytes.count % 4 == 0 else { throw ZMQError(code: EINVAL, operation: "zmq_z85_encode (length not a multiple of 4)") }
        if bytes.isEmpty { return "" }  // libzmq returns NULL for empty input
        var text = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        let ok = bytes.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, $0.count) } != nil
        guard ok else { throw ZMQError.last("zmq_z85_encode") }
        return String(decoding: text.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes Z85 text; the length must be a multiple of 5 and every character valid.
    public static func decode(_ text: String) throws -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.count % 5 == 0, !utf8.contains(0) else {
            throw ZMQError(code: EINVAL, operation: "zmq_z85_decode (length not a multiple of 5)")
        }
        if utf8.isEmpty { return [] }  // libzmq returns NULL for empty input
        var bytes = [UInt8](repeating: 0, count: utf8.count * 4 / 5)
        let ok = text.withCString { zmq_z85_decode(&bytes, $0) } != nil
        guard ok else { throw ZMQError(code: EINVAL, operation: "zmq_z85_decode (invalid Z85 text)") }
        return bytes
    }
}
