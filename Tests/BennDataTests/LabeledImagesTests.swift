import XCTest
@testable import BennData

final class LabeledImagesTests: XCTestCase {
    func testLoadRawAndGzipGiveTheSameSet() throws {
        let dir = try TempDirectory()
        let (pixels, labels) = makeImages(count: 7, height: 3, width: 2)
        let ri = try dir.write("ri", idx(dims: [7, 3, 2], payload: pixels))
        let rl = try dir.write("rl", idx(dims: [7], payload: labels))
        let gi = try dir.writeGzip("gi.gz", idx(dims: [7, 3, 2], payload: pixels))
        let gl = try dir.writeGzip("gl.gz", idx(dims: [7], payload: labels))
        let raw = try LabeledImages.load(images: ri, labels: rl)
        let gz = try LabeledImages.load(images: gi, labels: gl)
        XCTAssertEqual(raw, gz)
        XCTAssertEqual(raw.count, 7)
        XCTAssertEqual(raw.height, 3)
        XCTAssertEqual(raw.width, 2)
        XCTAssertEqual(raw.pixels, pixels)
        XCTAssertEqual(raw.labels, labels)
        XCTAssertEqual(raw.classCount, 10)
        XCTAssertEqual(raw.classNames[9], "Ankle boot")
        XCTAssertEqual(raw.contentHash, gz.contentHash)
    }

    func testCountMismatchNamesBothFiles() throws {
        let dir = try TempDirectory()
        let (pixels, labels) = makeImages(count: 5, height: 2, width: 2)
        let i = try dir.write("images-idx3-ubyte", idx(dims: [5, 2, 2], payload: pixels))
        let l = try dir.write("labels-idx1-ubyte", idx(dims: [4], payload: Array(labels.prefix(4))))
        let error = expectIDXError { try LabeledImages.load(images: i, labels: l) }
        XCTAssertEqual(error, .countMismatch(imagesPath: i, imageCount: 5, labelsPath: l, labelCount: 4))
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains(i) && text.contains(l) && text.contains("5") && text.contains("4"), text)
    }

    func testLabelOutOfRange() throws {
        let dir = try TempDirectory()
        let i = try dir.write("i", idx(dims: [3, 1, 1], payload: [0, 1, 2]))
        let l = try dir.write("l", idx(dims: [3], payload: [0, 10, 1]))
        let error = expectIDXError { try LabeledImages.load(images: i, labels: l) }
        XCTAssertEqual(error, .labelOutOfRange(path: l, index: 1, label: 10, classCount: 10))
        XCTAssertTrue(error?.description.contains(l) ?? false)
    }

    func testLabelsGivenAsImagesIsRejected() throws {
        let dir = try TempDirectory()
        let l = try dir.write("l", idx(dims: [3], payload: [0, 1, 2]))
        guard case .wrongDimensionCount(let path, 1, 3)? = expectIDXError({ try LabeledImages.load(images: l, labels: l) }) else {
            return XCTFail("expected wrongDimensionCount")
        }
        XCTAssertEqual(path, l)
    }

    func testInitValidates() {
        XCTAssertNotNil(expectDatasetError {
            try LabeledImages(height: 2, width: 2, pixels: [1, 2, 3], labels: [0], classNames: ["a"])
        })
        XCTAssertNotNil(expectDatasetError {
            try LabeledImages(height: 1, width: 1, pixels: [1], labels: [1], classNames: ["a"])
        })
    }

    func testContentHashIsStableAndSensitive() throws {
        let a = try makeSet(count: 20)
        let b = try makeSet(count: 20)
        XCTAssertEqual(a.contentHash, b.contentHash)
        XCTAssertEqual(a.contentHash.count, 64)
        // Pinned: a change here means the canonical encoding changed (old records no longer match).
        XCTAssertEqual(a.contentHash, LabeledImagesTests.pinnedHash)

        var pixels = a.pixels
        pixels[123] &+= 1
        let onePixel = try LabeledImages(height: 4, width: 5, pixels: pixels, labels: a.labels, classNames: a.classNames)
        XCTAssertNotEqual(onePixel.contentHash, a.contentHash)

        var labels = a.labels
        labels[3] = (labels[3] + 1) % 10
        let oneLabel = try LabeledImages(height: 4, width: 5, pixels: a.pixels, labels: labels, classNames: a.classNames)
        XCTAssertNotEqual(oneLabel.contentHash, a.contentHash)

        // Same bytes, different shape.
        let reshaped = try LabeledImages(height: 5, width: 4, pixels: a.pixels, labels: a.labels, classNames: a.classNames)
        XCTAssertNotEqual(reshaped.contentHash, a.contentHash)
    }

    /// Computed independently (Python hashlib over the documented encoding).
    static let pinnedHash = "f228cd1f211ef20dee33cc9689630af95a93d73ce95731e5ab402d4f635b039a"

    func testClassCounts() throws {
        let s = try makeSet(count: 25)
        XCTAssertEqual(s.classCounts, [3, 3, 3, 3, 3, 2, 2, 2, 2, 2])
    }

    func testSplitIsDeterministicAndDisjoint() throws {
        let s = try makeSet(count: 100)
        let (train, valid) = try s.split(validationCount: 30, seed: 5)
        XCTAssertEqual(train.count, 70)
        XCTAssertEqual(valid.count, 30)
        XCTAssertEqual(Set(train.indices).union(valid.indices), Set(0..<100))
        XCTAssertTrue(Set(train.indices).isDisjoint(with: valid.indices))
        XCTAssertEqual(train.indices, train.indices.sorted())
        let again = try s.split(validationCount: 30, seed: 5)
        XCTAssertEqual(again.validation.indices, valid.indices)
        let other = try s.split(validationCount: 30, seed: 6)
        XCTAssertNotEqual(other.validation.indices, valid.indices)
        XCTAssertEqual(try s.split(validationCount: 0, seed: 1).training.count, 100)
    }

    func testSplitOutOfRangeThrows() throws {
        let s = try makeSet(count: 10)
        XCTAssertEqual(expectDatasetError { try s.split(validationCount: 10, seed: 1) },
                       .validationCountOutOfRange(requested: 10, available: 10))
        XCTAssertEqual(expectDatasetError { try s.split(validationCount: -1, seed: 1) },
                       .validationCountOutOfRange(requested: -1, available: 10))
        XCTAssertTrue(DatasetError.validationCountOutOfRange(requested: 10, available: 10).description.contains("10"))
    }
}
