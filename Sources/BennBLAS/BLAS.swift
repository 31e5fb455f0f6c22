#if canImport(Glibc)
import Glibc
#endif

/// Single-precision BLAS, loaded at run time from OpenBLAS.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and silently runs its SSE3
/// "Prescott" kernel (5x slower) unless `OPENBLAS_CORETYPE` is set before the library's
/// constructor runs. Linking it normally would run that constructor before any of our
/// code, so we pick the core type from the CPU's features, set the variable, and only
/// then `dlopen` the library. A user's own `OPENBLAS_CORETYPE` is respected.
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

    private static func load() -> (Library?, String?) {
        if getenv("OPENBLAS_CORETYPE") == nil, let core = preferredCoreType() {
            setenv("OPENBLAS_CORETYPE", core, 0)
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
