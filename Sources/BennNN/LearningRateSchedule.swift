#if canImport(Glibc)
import Glibc
#endif

/// Learning rate as a function of the step, evaluated before each optimizer step.
public enum LearningRateSchedule: Sendable, Equatable {
    case constant
    /// Multiply by `factor` every `everySteps` steps.
    case step(everySteps: Int, factor: Float)
    /// Cosine decay from the base rate to `floor` over `totalSteps` (per step, as larq's
    /// reference runs do).
    case cosine(totalSteps: Int, floor: Float)

    public func rate(base: Float, step: Int) -> Float {
        switch self {
        case .constant:
            return base
        case let .step(every, factor):
            return base * powf(factor, Float(step / max(1, every)))
        case let .cosine(total, floor):
            let t = min(1, Float(step) / Float(max(1, total)))
            return floor + (base - floor) * 0.5 * (1 + cosf(Float.pi * t))
        }
    }
}
