/// A benchmark's options do not make sense (an unknown model, a malformed list): the
/// message names the option, as the command line would.
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
