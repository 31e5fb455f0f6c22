/// The outcome of choosing the default kernel path from `BENN_KERNEL_PATH`.
struct KernelSelection: Sendable, Equatable {
    /// The path that will be used.
    var path: KernelPath
    /// Set when the requested value was unknown or not supported.
    var warning: String?

    /// Resolves a requested path name against the supported paths (best last).
    /// `nil` or an empty/whitespace string selects the best path without a warning.
    static func resolve(requested: String?, supported: [KernelPath]) -> KernelSelection {
        let best = supported.last ?? .scalar
        guard let raw = requested?.trimmingCharacters(in: " \t\n"), !raw.isEmpty else {
            return KernelSelection(path: best, warning: nil)
        }
        guard let wanted = KernelPath(rawValue: raw.lowercased()) else {
            return KernelSelection(
                path: best,
                warning: "BENN_KERNEL_PATH=\(raw) is not one of \(KernelPath.allCases.map(\.rawValue).joined(separator: "|")); using \(best.rawValue)")
        }
        guard supported.contains(wanted) else {
            return KernelSelection(
                path: best,
                warning: "BENN_KERNEL_PATH=\(raw) is not supported by this CPU (\(wanted.rawValue) needs \(wanted.requirement); supported: \(supported.map(\.rawValue).joined(separator: ", "))); using \(best.rawValue)")
        }
        return KernelSelection(path: wanted, warning: nil)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
