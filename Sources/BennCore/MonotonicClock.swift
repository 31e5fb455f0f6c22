import Dispatch

/// The one clock for intervals: monotonic seconds since an arbitrary fixed point (the
/// system's uptime), unaffected by changes of the wall clock. For durations only; dates in
/// reports and logs come from `Date()`.
public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    public static func seconds() -> Double { Double(nanoseconds()) / 1e9 }
}

/// Seconds elapsed since it was made, on ``MonotonicClock``.
public struct Stopwatch: Sendable {
    public let start: UInt64

    public init() { start = MonotonicClock.nanoseconds() }

    public var seconds: Double { Double(MonotonicClock.nanoseconds() - start) / 1e9 }
}
