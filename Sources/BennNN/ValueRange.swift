/// The values a numeric spec field accepts. Every number in a spec has one, because a spec
/// may come from a client as JSON and whatever it asks for (a 2^40 batch, a NaN learning
/// rate) is what a worker would try to allocate and compute with.
public struct ValueRange: Sendable, Equatable, CustomStringConvertible {
    public enum Bounds: Sendable, Equatable {
        case whole(ClosedRange<Int>)
        case real(lower: Float, lowerIncluded: Bool, upper: Float, upperIncluded: Bool)
    }

    public var bounds: Bounds
    /// How a value below the range is described where a message has long said it its own
    /// way ("must be positive"); nil: the range's own words.
    public var belowPhrase: String?

    public static func whole(_ range: ClosedRange<Int>, below: String? = nil) -> ValueRange {
        ValueRange(bounds: .whole(range), belowPhrase: below)
    }

    public static func real(_ lower: Float, _ upper: Float, lowerIncluded: Bool = true, upperIncluded: Bool = true,
                            below: String? = nil) -> ValueRange {
        ValueRange(bounds: .real(lower: lower, lowerIncluded: lowerIncluded, upper: upper, upperIncluded: upperIncluded),
                   belowPhrase: below)
    }

    /// The least whole value in range; nil for a real range.
    public var lowestWhole: Int? {
        if case let .whole(r) = bounds { return r.lowerBound }
        return nil
    }

    /// `1...65536` for whole numbers, interval notation (`(0, 10]`) for real ones.
    public var description: String {
        switch bounds {
        case let .whole(r): return "\(r.lowerBound)...\(r.upperBound)"
        case let .real(lo, loIn, hi, hiIn): return "\(loIn ? "[" : "(")\(Self.format(lo)), \(Self.format(hi))\(hiIn ? "]" : ")")"
        }
    }

    /// What is wrong with `value` ("must be between 1 and 65536, got 0"), nil if it is in range.
    public func problem(_ value: Int) -> String? {
        switch bounds {
        case let .whole(r):
            if value < r.lowerBound {
                let phrase = belowPhrase ?? (r.lowerBound == 0 ? "must not be negative" : "must be at least \(r.lowerBound)")
                return "\(phrase), got \(value)"
            }
            if value > r.upperBound { return "must be between \(r.lowerBound) and \(r.upperBound), got \(value)" }
            return nil
        case .real:
            return problem(Float(value))
        }
    }

    /// What is wrong with `value` (not finite, or outside the range), nil if it is in range.
    public func problem(_ value: Float) -> String? {
        switch bounds {
        case .whole:
            guard value.isFinite, value == value.rounded(), abs(value) < 1e15 else {
                return "must be a whole number in \(description), got \(value)"
            }
            return problem(Int(value))
        case let .real(lo, loIn, hi, hiIn):
            guard value.isFinite else { return "must be a finite number in \(description), got \(value)" }
            if value < lo || (value == lo && !loIn) { return below(value) }
            if value > hi || (value == hi && !hiIn) { return "must be in \(description), got \(Self.format(value))" }
            return nil
        }
    }

    private func below(_ value: Float) -> String {
        "\(belowPhrase ?? "must be in \(description)"), got \(Self.format(value))"
    }

    /// Whole values without a trailing `.0` (`10`, not `10.0`), others as Swift prints them.
    static func format(_ value: Float) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e9 ? "\(Int(value))" : "\(value)"
    }
}
