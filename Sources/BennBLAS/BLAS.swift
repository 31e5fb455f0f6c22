#if canImport(Glibc)
import Glibc
#endif

/// Single-precision BLAS, loaded at run time from OpenBLAS.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and silently runs a slower
/// kernel family ("Prescott" on new Xeons; machines are also often configured with
/// `OPENBLAS_CORETYPE=Haswell` as a blanket workaround) although the AVX-512 "SkylakeX"
/// kernels run correctly and faster there (docs/ARCHITECTURE.md, BLAS kernel choice). The
/// core type is read by the library's constructor, so linking it normally would fix the
/// choice before any of our code runs. Instead we pick the core type from the CPU's features, set the variable,
/// and only then `dlopen` the library; `selfTest()` checks the chosen kernels against a
/// reference before any training relies on them.
///
/// `BENN_BLAS_CORE` overrides the choice (any OpenBLAS core name, or `auto`);
/// `BENN_BLAS_CORE=env` keeps whatever `OPENBLAS_CORETYPE` says.
public enum BLAS {
    public enum Transpose: Int32, Sendable { case none = 111, transpose = 112 }

    typealias SgemmFn = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float,
        UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
        UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    typealias CoreNameFn = @convention(c) () -> UnsafeMutablePointer<CChar>?
    typealias SetThreadsFn = @convention(c) (Int32) -> Void

    struct Library: @unchecked Sendable {
        let sgemm: SgemmFn
        let coreName: CoreNameFn?
        let setThreads: SetThreadsFn?
        let path: String
    }

    /// The reason the library could not be loaded, or nil.
    public static var loadError: String? { loaded.error }

    nonisolated(unsafe) private static var currentThreads = 0

    private static let loaded: (library: Library?, error: String?) = load()

    /// The core type requested from OpenBLAS and why, for logs.
    nonisolated(unsafe) public private(set) static var coreChoice = "library default"

    private static func load() -> (Library?, String?) {
        let environment = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        let requested = getenv("BENN_BLAS_CORE").map { String(cString: $0) } ?? "auto"
        switch requested {
        case "env":
            coreChoice = environment.map { "\($0) (OPENBLAS_CORETYPE)" } ?? "library default"
        case "auto":
            if let core = preferredCoreType() {
                setenv("OPENBLAS_CORETYPE", core, 1)
                coreChoice = environment.map { $0 == core ? core : "\(core) (chosen for this CPU over OPENBLAS_CORETYPE=\($0))" } ?? core
            } else {
                coreChoice = environment.map { "\($0) (OPENBLAS_CORETYPE)" } ?? "library default"
            }
        default:
            setenv("OPENBLAS_CORETYPE", requested, 1)
            coreChoice = "\(requested) (BENN_BLAS_CORE)"
        }
        // Threads are set explicitly through openblas_set_num_threads; start at 1 so a
        // library default of "all cores" never oversubscribes cluster workers.
        if getenv("OPENBLAS_NUM_THREADS") == nil { setenv("OPENBLAS_NUM_THREADS", "1", 0) }
        let candidates = [
            "libopenblas.so.0", "libopenblas.so",
            "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
            "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
            "libblas.so.3",
        ]
        var errors: [String] = []
        for name in candidates {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) else {
                if let e = dlerror() { errors.append(String(cString: e)) }
                continue
            }
            guard let sym = dlsym(handle, "cblas_sgemm") else { continue }
            let sgemm = unsafeBitCast(sym, to: SgemmFn.self)
            let core = dlsym(handle, "openblas_get_corename").map { unsafeBitCast($0, to: CoreNameFn.self) }
            let threads = dlsym(handle, "openblas_set_num_threads").map { unsafeBitCast($0, to: SetThreadsFn.self) }
            return (Library(sgemm: sgemm, coreName: core, setThreads: threads, path: name), nil)
        }
        return (nil, "no BLAS library with cblas_sgemm found (install libopenblas0 / libopenblas-dev): "
                + errors.joined(separator: "; "))
    }

    private static func library() -> Library {
        guard let lib = loaded.library else {
            fatalError(loaded.error ?? "BLAS not loaded")
        }
        return lib
    }

    /// Whether BLAS is usable; call at start-up to turn a missing library into a clear error.
    public static var isAvailable: Bool { loaded.library != nil }

    /// The OpenBLAS kernel family actually running ("SkylakeX", "Haswell", "Prescott", ...).
    public static var coreName: String {
        guard let lib = loaded.library else { return "unavailable" }
        guard let fn = lib.coreName, let p = fn() else { return "unknown" }
        return String(cString: p)
    }

    /// The library file that was loaded.
    public static var libraryPath: String { loaded.library?.path ?? "none" }

    /// Sets the number of threads OpenBLAS uses for the following calls.
    public static func setThreads(_ n: Int) {
        let lib = library()
        guard n != currentThreads else { return }
        currentThreads = n
        lib.setThreads?(Int32(max(1, n)))
    }

    /// C = alpha * op(A) * op(B) + beta * C, row-major.
    @inline(__always)
    public static func sgemm(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        library().sgemm(101, transA.rawValue, transB.rawValue, Int32(m), Int32(n), Int32(k),
                        alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Checks sgemm in every transpose combination, with beta 0 and 1, on awkward shapes
    /// against a double-precision reference. Returns a description of the first wrong
    /// result, or nil when every product is right.
    public static func selfTest() -> String? {
        guard isAvailable else { return loadError }
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int((state >> 33) % 2001) - 1000) / 1000
        }
        let shapes = [(1, 1, 1), (7, 5, 3), (17, 33, 65), (64, 129, 31), (130, 16, 257)]
        for (m, n, k) in shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    for beta: Float in [0, 1] {
                        let a = (0..<(m * k)).map { _ in next() }, b = (0..<(k * n)).map { _ in next() }
                        let c0 = (0..<(m * n)).map { _ in next() }
                        var c = c0
                        let lda = ta ? m : k, ldb = tb ? k : n
                        a.withUnsafeBufferPointer { pa in
                            b.withUnsafeBufferPointer { pb in
                                c.withUnsafeMutableBufferPointer { pc in
                                    sgemm(ta ? .transpose : .none, tb ? .transpose : .none, m: m, n: n, k: k,
                                          a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                          beta: beta, c: pc.baseAddress!, ldc: n)
                                }
                            }
                        }
                        for i in 0..<m {
                            for j in 0..<n {
                                var r = Double(beta) * Double(c0[i * n + j])
                                for p in 0..<k {
                                    r += Double(ta ? a[p * m + i] : a[i * k + p]) * Double(tb ? b[j * k + p] : b[p * n + j])
                                }
                                if abs(r - Double(c[i * n + j])) > 1e-4 * Double(k).squareRoot() + 1e-5 {
                                    return "OpenBLAS kernel \(coreName) gives wrong sgemm results (\(m)x\(n)x\(k), transA \(ta), transB \(tb)); "
                                        + "set BENN_BLAS_CORE=env or another core type (e.g. Haswell)"
                                }
                            }
                        }
                    }
                }
            }
        }
        return nil
    }

    /// The OpenBLAS core type matching this CPU, for the library versions that do not
    /// detect it themselves. nil leaves the choice to OpenBLAS.
    static func preferredCoreType() -> String? {
        #if arch(x86_64)
        let f = CPUFeatures.current
        if f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq { return "SkylakeX" }
        if f.avx2 && f.fma { return "Haswell" }
        return nil
        #else
        return nil
        #endif
    }
}
