/// What a ZeroMQ endpoint string says about who can reach it.
public enum Endpoint {
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
