import Foundation
import XCTest
@testable import BennData

final class FashionMNISTTests: XCTestCase {
    func testClassNames() {
        XCTAssertEqual(FashionMNIST.classNames, [
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ])
        XCTAssertEqual(FashionMNIST.defaultDirectory, "/usr/share/datasets/fashion-mnist")
    }

    func testMissingFilesListsPathsTried() throws {
        let dir = try TempDirectory()
        let error = expectIDXError { try FashionMNIST.load(directory: dir.path, split: .test) }
        guard case .datasetFileMissing(let directory, _, let tried)? = error else {
            return XCTFail("expected datasetFileMissing, got \(String(describing: error))")
        }
        XCTAssertEqual(directory, dir.path)
        XCTAssertTrue(tried.contains(dir.file("t10k-images-idx3-ubyte.gz")))
        XCTAssertTrue(tried.contains(dir.file("t10k-images-idx3-ubyte")))
        for path in tried { XCTAssertTrue(error!.description.contains(path)) }
    }

    func testFindsRawAndGzipNames() throws {
        let dir = try TempDirectory()
        let (pixels, labels) = makeImages(count: 3, height: 28, width: 28)
        try dir.write("t10k-images-idx3-ubyte", idx(dims: [3, 28, 28], payload: pixels))
        try dir.writeGzip("t10k-labels-idx1-ubyte.gz", idx(dims: [3], payload: labels))
        let files = try FashionMNIST.files(directory: dir.path, split: .test)
        XCTAssertEqual(files.images, dir.file("t10k-images-idx3-ubyte"))
        XCTAssertEqual(files.labels, dir.file("t10k-labels-idx1-ubyte.gz"))
        let set = try FashionMNIST.load(directory: dir.path + "/", split: .test)
        XCTAssertEqual(set.pixels, pixels)
        XCTAssertEqual(set.labels, labels)
        // Train files are absent: the error names the label or image file it looked for.
        guard case .datasetFileMissing? = expectIDXError({ try FashionMNIST.load(directory: dir.path, split: .train) }) else {
            return XCTFail("expected datasetFileMissing")
        }
    }

    func testRealFashionMNIST() throws {
        let directory = FashionMNIST.defaultDirectory
        guard FileManager.default.fileExists(atPath: directory) else {
            throw XCTSkip("Fashion-MNIST not installed at \(directory) (Debian package dataset-fashion-mnist)")
        }
        let start = Date()
        let train = try FashionMNIST.load(split: .train)
        let trainTime = Date().timeIntervalSince(start)
        let test = try FashionMNIST.load(split: .test)
        let total = Date().timeIntervalSince(start)
        print(String(format: "Fashion-MNIST load: train %.3f s, train+test %.3f s", trainTime, total))
        XCTAssertLessThan(total, 10, "loading Fashion-MNIST should take seconds at most")

        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual(test.count, 10_000)
        for set in [train, test] {
            XCTAssertEqual(set.height, 28)
            XCTAssertEqual(set.width, 28)
            XCTAssertEqual(set.pixels.count, set.count * 784)
            XCTAssertTrue(set.labels.allSatisfy { $0 < 10 })
        }
        // Known facts of the published data set.
        XCTAssertEqual(train.labels.prefix(5), [9, 0, 0, 3, 0])
        XCTAssertEqual(train.classNames[Int(train.labels[0])], "Ankle boot")
        XCTAssertEqual(test.labels.prefix(5), [9, 2, 1, 1, 6])
        XCTAssertEqual(train.classCounts, [Int](repeating: 6000, count: 10))
        XCTAssertEqual(test.classCounts, [Int](repeating: 1000, count: 10))
        XCTAssertEqual(test.pixels.max(), 255)
        XCTAssertEqual(test.pixels.min(), 0)
        // Pinned content hash of the test split (checked with Python's hashlib over the
        // documented encoding); the train split's is 55fc9e2b...8b9e, skipped here for debug speed.
        XCTAssertEqual(test.contentHash, "2c85f84745a5df1bddf8286d443ebf82bce0dcda40afab55a0124722344c44e6")
    }
}
