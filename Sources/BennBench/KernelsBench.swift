import BennBLAS
import BennKernels
import Dispatch
import Foundation

/// Binary GEMM throughput per kernel path and thread count against sgemm on the same
/// shapes (`benn bench kernels`).
public enum KernelsBench {
    public struct Row: Codable {
        var path: String
        var threads: Int
        var m: Int, n: Int, k: Int
        var binaryGMACPerSecond: Double
        var sgemmGMACPerSecond: Double
        var ratio: Double
    }

    /// Measures every supported path on 1 and 2 threads, printing the table; returns the rows.
    public static func run() -> [Row] {
        print("BLAS kernel: \(BLAS.coreName) [\(BLAS.coreChoice)]; binary kernel paths: \(BinaryKernels.supported.map(\.rawValue).joined(separator: ", "))")
        var sgemm: [String: Double] = [:]
        for shape in KernelBenchmark.defaultShapes {
            for threads in [1, 2] {
                sgemm["\(shape.m)x\(shape.n)x\(shape.k)/\(threads)"] = sgemmGMAC(shape, threads: threads)
            }
        }
        var rows: [Row] = []
        for r in KernelBenchmark.run() {
            let s = sgemm["\(r.m)x\(r.n)x\(r.k)/\(r.threads)"] ?? .nan
            rows.append(Row(path: r.path.rawValue, threads: r.threads, m: r.m, n: r.n, k: r.k,
                            binaryGMACPerSecond: r.gmacPerSecond, sgemmGMACPerSecond: s, ratio: r.gmacPerSecond / s))
        }
        print("path    threads  shape (m x n x k)     binary GMAC/s  sgemm GMAC/s  ratio")
        for r in rows {
            print("\(r.path.padding(toLength: 7, withPad: " ", startingAt: 0)) \(String(r.threads).leftPad(7))  \("\(r.m) x \(r.n) x \(r.k)".padding(toLength: 20, withPad: " ", startingAt: 0))  \(Console.fixed(r.binaryGMACPerSecond, 1).leftPad(13))  \(Console.fixed(r.sgemmGMACPerSecond, 1).leftPad(12))  \(Console.fixed(r.ratio, 1).leftPad(5))x")
        }
        return rows
    }

    /// Median sgemm rate (multiply-accumulates per second / 1e9) of C = A·Bᵀ.
    static func sgemmGMAC(_ s: KernelBenchmark.Shape, threads: Int) -> Double {
        let a = [Float](repeating: 0.5, count: s.m * s.k), b = [Float](repeating: -0.25, count: s.n * s.k)
        var c = [Float](repeating: 0, count: s.m * s.n)
        BLAS.setThreads(threads)
        var times: [Double] = []
        for rep in 0..<6 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            BLAS.sgemm(.none, .transpose, m: s.m, n: s.n, k: s.k, a: a, lda: s.k, b: b, ldb: s.k, c: &c, ldc: s.n)
            if rep > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
        }
        times.sort()
        return Double(s.m) * Double(s.n) * Double(s.k) / times[times.count / 2] / 1e9
    }
}
