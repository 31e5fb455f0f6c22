#if canImport(Glibc)
import Glibc
#endif

/// What a ZeroMQ endpoint string says about who can reach it.
public enum Endpoint {
    /// A bind endpoint was given a host libzmq cannot bind.
    public struct Unbindable: Error, CustomStringConvertible {
        public let description: String
    }

    /// `endpoint` as libzmq's `zmq_bind` takes it. zmq_bind does not resolve host names: it
    /// reads any host that is not an IP literal or `*` as an interface name, so
    /// `tcp://localhost:P` fails with "No such device". `localhost` becomes `127.0.0.1`; other
    /// names are refused rather than looked up, because a name can resolve to several
    /// addresses, or to another one tomorrow, and a bind should say which address it serves.
    /// IP literals (`[::1]` too), `*`, interface names and non-TCP endpoints pass unchanged.
    public static func bindable(_ endpoint: String) throws -> String {
        guard endpoint.hasPrefix("tcp://") else { return endpoint }
        let address = endpoint.dropFirst("tcp://".count)
        // Bracketed hosts are IPv6 literals; a source address ("SRC;DST") is libzmq's to refuse.
        guard !address.hasPrefix("["), !address.contains(";"), let colon = address.lastIndex(of: ":") else { return endpoint }
        let host = String(address[..<colon]), port = address[address.index(after: colon)...]
        guard !host.isEmpty else { return endpoint }
        if host.lowercased() == "localhost" { return "tcp://127.0.0.1:\(port)" }
        if host == "*" || isIPLiteral(host) || if_nametoindex(host) != 0 { return endpoint }
        throw Unbindable(description: "cannot bind \(endpoint): \(host) is not an IP address or interface; use an address such as 0.0.0.0 or 127.0.0.1")
    }

    private static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Whether binding `endpoint` serves only this machine: `ipc://` and `inproc://`, or
    /// `tcp://` on a loopback address (127.0.0.0/8, `::1`), `localhost` or the `lo` interface.
    /// Anything unparsable counts as reachable from outside, so a warning errs on the safe side.
    public static func isLocalOnly(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://") else { return false }
        var address = Substring(endpoint.dropFirst("tcp://".count))
        // A source address ("tcp://SRC;DST") is only for connecting; a bind has none.
        guard !address.contains(";") else { return false }
        let host: Substring
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]") else { return false }
            host = address[address.index(after: address.startIndex)..<close]
        } else {
            guard let colon = address.lastIndex(of: ":") else { return false }
            address = address[..<colon]
            host = address
        }
        if host == "localhost" || host == "lo" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return false }
        return octets[0] == "127"
    }
}
