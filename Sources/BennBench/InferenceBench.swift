import BennInference
import Foundation

/// Folded packed inference against the float twins on BLAS, in one run (`benn bench inference`).
public enum InferenceBench {
    /// Measures `models` (comma-separated), printing the table; returns the figures.
    public static func run(models: String) throws -> InferenceBenchmark.Report {
        let r = try InferenceBenchmark.run(models: models.split(separator: ",").map(String.init))
        print("kernels \(r.kernelPath), BLAS \(r.blasCore)")
        print("model  folded  batch  threads   ms/batch    images/s")
        for x in r.results {
            print("\(x.model.padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(x.folded).leftPad(6))  \(String(x.batch).leftPad(5))  \(String(x.threads).leftPad(7))  \(Console.fixed(x.secondsPerBatch * 1000, 3).leftPad(9))  \(String(Int(Double(x.batch) / x.secondsPerBatch)).leftPad(10))")
        }
        return r
    }
}
