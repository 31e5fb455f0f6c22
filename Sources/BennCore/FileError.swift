/// A file that cannot be used, with the file it is about: one line, `path: what is wrong`.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or directory) at fault.
    public var path: String
    /// What is wrong with it.
    public var reason: String

    public init(path: String, reason: String) { (self.path, self.reason) = (path, reason) }

    public var description: String { "\(path): \(reason)" }
}
