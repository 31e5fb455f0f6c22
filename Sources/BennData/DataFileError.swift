import BennCore

/// A data file that cannot be used, with the file it is about: one line, `path: what is
/// wrong` (a truncated CIFAR batch, a label out of range, a bad NumPy header, a wrong
/// dtype, images of mixed sizes, a missing file).
public typealias DataFileError = FileError
