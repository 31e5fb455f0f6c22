import XCTest
import BennCore
#if canImport(Glibc)
import Glibc
#endif

final class HeapTuningTests: XCTestCase {
    /// With the tuning a freed large block comes back on the next allocation of its size
    /// with its pages still mapped; with glibc's defaults every allocation faults them in
    /// again. Measured against the defaults in the same process.
    func testAFreedLargeBlockIsReusedWithoutPageFaults() throws {
        #if canImport(Glibc)
        defer { HeapTuning.returnFreedMemory() }
        let defaults = try faultsWithTheDefaults()
        XCTAssertTrue(HeapTuning.keepFreedMemoryForReuse())
        _ = faultsWhileFilling()
        let tuned = faultsWhileFilling()
        XCTAssertLessThan(tuned, pages / 20, "with glibc's defaults: \(defaults) faults for \(pages) pages")
        #else
        throw XCTSkip("glibc only")
        #endif
    }

    /// Message buffers up to the given size are kept too; asking for that after the training
    /// tuning leaves the training tuning in place (a cluster worker needs both).
    func testMessageBuffersAreKeptAndTheTrainingTuningIsNotWeakened() throws {
        #if canImport(Glibc)
        defer { HeapTuning.returnFreedMemory() }
        _ = try faultsWithTheDefaults()
        XCTAssertTrue(HeapTuning.keepBuffers(upTo: 2 * bytes))
        _ = faultsWhileFilling()
        XCTAssertLessThan(faultsWhileFilling(), pages / 20, "buffers of \(2 * bytes) bytes kept")

        XCTAssertTrue(HeapTuning.returnFreedMemory())
        XCTAssertTrue(HeapTuning.keepFreedMemoryForReuse())
        XCTAssertTrue(HeapTuning.keepBuffers(upTo: 1 << 20))  // already kept: changes nothing
        _ = faultsWhileFilling()
        XCTAssertLessThan(faultsWhileFilling(), pages / 20, "the training tuning was weakened")
        #else
        throw XCTSkip("glibc only")
        #endif
    }

    #if canImport(Glibc)
    let bytes = 64 << 20
    var pages: Int { bytes / Int(getpagesize()) }

    func faultsWhileFilling() -> Int {
        var before = rusage(), after = rusage()
        getrusage(RUSAGE_SELF.rawValue, &before)
        let block = malloc(bytes)!
        memset(block, 1, bytes)
        free(block)
        getrusage(RUSAGE_SELF.rawValue, &after)
        return after.ru_minflt - before.ru_minflt
    }

    /// Back to glibc's defaults, and the page faults of filling a fresh block there; skips
    /// where the test cannot tell the settings apart.
    func faultsWithTheDefaults() throws -> Int {
        if let t = getenv("GLIBC_TUNABLES"), String(cString: t).contains("malloc") {
            throw XCTSkip("GLIBC_TUNABLES sets malloc here, so benn leaves it alone")
        }
        XCTAssertTrue(HeapTuning.returnFreedMemory())
        _ = faultsWhileFilling()
        let defaults = faultsWhileFilling()
        guard defaults > pages / 2 else {
            throw XCTSkip("the kernel maps this block with huge pages (\(defaults) faults for \(pages) pages)")
        }
        return defaults
    }
    #endif
}
