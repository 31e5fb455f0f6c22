/// A data file that cannot be used, with the file it is about: one line, `path: what is
/// wrong` (a truncated CIFAR batch, a label out of range, a bad NumPy header, a wrong
/// dtype, images of mixed sizes, a missing file).
public struct DataFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or directory) at fault.
    public var path: String
    /// What is wrong with it.
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
