import Foundation
#if canImport(Glibc)
import Glibc
#endif
import BennTrain

/// Output for people: progress bars on a terminal, plain log lines otherwise. Shared by
/// the `benn` commands and the benchmarks.
public enum Console {
    public static let isTerminal = isatty(2) != 0

    /// Writes to file descriptor 2 directly: the C `stderr` global is not usable from
    /// Swift 6 strict concurrency.
    public static func writeErr(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { b in _ = write(2, b.baseAddress, b.count) }
    }

    public static func error(_ message: String) {
        writeErr("error: \(message)\n")
    }

    public static func log(_ message: String) {
        if isTerminal { writeErr("\r\u{1B}[K") }
        writeErr("\(message)\n")
    }

    public static func formatDuration(_ s: Double) -> String {
        guard s.isFinite else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(pad2((t % 3600) / 60))m" : "\(pad2(t / 60)):\(pad2(t % 60))"
    }

    public static func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    public static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "n/a" }
        var p: Double = 1
        for _ in 0..<digits { p *= 10 }
        let r = (v * p).rounded() / p
        var s = "\(r)"
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        } else if digits > 0 {
            s += "." + String(repeating: "0", count: digits)
        }
        return s
    }

    public static func percent(_ v: Float) -> String { fixed(Double(v) * 100, 2) + "%" }

    /// A progress printer for training events.
    public final class TrainingProgress {
        public init() {}

        private var lastBatchLogged = 0

        public func handle(_ event: ProgressEvent) {
            switch event {
            case let .batch(epoch, epochs, batch, batches, loss, accuracy, rate, left):
                if Console.isTerminal {
                    let width = 24
                    let filled = batches > 0 ? width * batch / batches : 0
                    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                    writeErr("\r\u{1B}[Kepoch \(epoch)/\(epochs) [\(bar)] \(batch)/\(batches) loss \(Console.fixed(Double(loss), 4)) acc \(Console.percent(accuracy)) \(Int(rate)) samples/s eta \(Console.formatDuration(left))")
                } else if batch * 10 / max(1, batches) > lastBatchLogged * 10 / max(1, batches) || batch == 1 {
                    // Plain logs: about ten lines per epoch.
                    writeErr("epoch \(epoch)/\(epochs) batch \(batch)/\(batches) loss \(Console.fixed(Double(loss), 4)) acc \(Console.percent(accuracy)) \(Int(rate)) samples/s eta \(Console.formatDuration(left))\n")
                }
                lastBatchLogged = batch
            case let .epoch(stats, epochs):
                var line = "epoch \(stats.epoch)/\(epochs) done: loss \(Console.fixed(Double(stats.loss), 4)) train acc \(Console.percent(stats.trainAccuracy))"
                if let v = stats.validationAccuracy { line += " val acc \(Console.percent(v))" }
                if let t = stats.testAccuracy { line += " test acc \(Console.percent(t))" }
                line += " \(Int(stats.samplesPerSecond)) samples/s \(Console.fixed(stats.seconds, 1))s"
                Console.log(line)
                lastBatchLogged = 0
            }
        }
    }
}

extension String {
    /// Right-aligns in a column of `width` characters (table output).
    public func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
