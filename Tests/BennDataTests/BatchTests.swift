import BennRandom
import XCTest
@testable import BennData

final class BatchTests: XCTestCase {
    func testScalingTable() {
        for x in 0...255 {
            XCTAssertEqual(PixelScaling.table[x], Float(x) / 127.5 - 1)
            XCTAssertEqual(PixelScaling.scale(UInt8(x)), Float(x) / 127.5 - 1)
        }
        XCTAssertEqual(PixelScaling.table[0], -1)
        XCTAssertEqual(PixelScaling.table[255], 1)
        XCTAssertFalse(PixelScaling.table.contains(0), "127.5 is not a byte, so 0 is not reachable")
        XCTAssertEqual(PixelScaling.table[127], Float(127) / 127.5 - 1)
        XCTAssertLessThan(PixelScaling.table[127], 0)
        XCTAssertGreaterThan(PixelScaling.table[128], 0)
    }

    func testBatchContentsExact() throws {
        let pixels: [UInt8] = [0, 255, 127, 128, 1, 2, 3, 4, 200, 100, 50, 25]
        let s = try LabeledImages(height: 2, width: 2, pixels: pixels, labels: [7, 2, 5], classNames: FashionMNIST.classNames)
        var rng = SeededGenerator(seed: 1)
        let batches = try DatasetView.all(s).batches(batchSize: 2, shuffle: false, rng: &rng)
        XCTAssertEqual(batches.count, 2)
        let b0 = batches[0]
        XCTAssertEqual(b0.count, 2)
        XCTAssertEqual(b0.height, 2)
        XCTAssertEqual(b0.width, 2)
        XCTAssertEqual(b0.channels, 1)
        XCTAssertEqual(b0.inputs, pixels[0..<8].map { Float($0) / 127.5 - 1 })
        XCTAssertEqual(b0.inputs[0], -1)
        XCTAssertEqual(b0.inputs[1], 1)
        XCTAssertEqual(b0.labels, [7, 2])
        XCTAssertEqual(b0.indices, [0, 1])
        XCTAssertNil(b0.weights)
        let b1 = batches[1]
        XCTAssertEqual(b1.count, 1, "last partial batch")
        XCTAssertEqual(b1.inputs, pixels[8..<12].map { Float($0) / 127.5 - 1 })
        XCTAssertEqual(b1.labels, [5])
        let dropped = try DatasetView.all(s).batches(batchSize: 2, shuffle: false, rng: &rng, dropLast: true)
        XCTAssertEqual(dropped.count, 1)
        XCTAssertEqual(Array(dropped.map(\.count)), [2])
    }

    func testShuffledEpochCoversEveryIndexOnce() throws {
        let s = try makeSet(count: 103)
        var rng = SeededGenerator(seed: 42)
        let view = DatasetView.all(s)
        let epoch1 = try view.batches(batchSize: 10, shuffle: true, rng: &rng)
        XCTAssertEqual(epoch1.count, 11)
        XCTAssertEqual(epoch1.map(\.count), [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3])
        let seen1 = epoch1.flatMap(\.indices)
        XCTAssertEqual(seen1.sorted(), Array(0..<103))
        XCTAssertNotEqual(seen1, Array(0..<103), "shuffled")
        for batch in epoch1 {
            XCTAssertEqual(batch.labels, batch.indices.map { Int32(s.labels[$0]) })
            XCTAssertEqual(batch.inputs.count, batch.count * 20)
            for (k, index) in batch.indices.enumerated() {
                XCTAssertEqual(Array(batch.inputs[(k * 20)..<(k * 20 + 20)]),
                               s.pixels[(index * 20)..<(index * 20 + 20)].map { Float($0) / 127.5 - 1 })
            }
        }
        let epoch2 = try view.batches(batchSize: 10, shuffle: true, rng: &rng)
        let seen2 = epoch2.flatMap(\.indices)
        XCTAssertEqual(seen2.sorted(), Array(0..<103))
        XCTAssertNotEqual(seen1, seen2, "a new order each epoch")

        var replay = SeededGenerator(seed: 42)
        XCTAssertEqual(try view.batches(batchSize: 10, shuffle: true, rng: &replay).flatMap(\.indices), seen1)
        XCTAssertEqual(try view.batches(batchSize: 10, shuffle: true, rng: &replay).flatMap(\.indices), seen2)

        var other = SeededGenerator(seed: 43)
        XCTAssertNotEqual(try view.batches(batchSize: 10, shuffle: true, rng: &other).flatMap(\.indices), seen1)

        let dropped = try view.batches(batchSize: 10, shuffle: true, rng: &rng, dropLast: true)
        XCTAssertEqual(dropped.count, 10)
        XCTAssertEqual(Set(dropped.flatMap(\.indices)).count, 100)
    }

    func testWeightsAndRepeatedIndicesFlowIntoBatches() throws {
        let s = try makeSet(count: 4)
        let view = try DatasetView.subset(s, indices: [2, 2, 0], weights: [0.5, 0.25, 2])
        var rng = SeededGenerator(seed: 1)
        let batch = try view.batches(batchSize: 8, shuffle: false, rng: &rng)[0]
        XCTAssertEqual(batch.indices, [2, 2, 0])
        XCTAssertEqual(batch.weights, [0.5, 0.25, 2])
        XCTAssertEqual(Array(batch.inputs[0..<20]), Array(batch.inputs[20..<40]))
        var shuffled = SeededGenerator(seed: 5)
        for b in try view.batches(batchSize: 2, shuffle: true, rng: &shuffled) {
            for (k, index) in b.indices.enumerated() {
                XCTAssertEqual(b.weights?[k], index == 0 ? 2 : (b.weights?[k] == 0.5 ? 0.5 : 0.25))
            }
        }
    }

    func testFillBuffersMatchBatches() throws {
        let s = try makeSet(count: 9)
        var rng = SeededGenerator(seed: 8)
        let batches = try DatasetView.all(s).batches(batchSize: 4, shuffle: true, rng: &rng)
        var inputs = [Float](repeating: .nan, count: 4 * 20)
        var labels = [Int32](repeating: -1, count: 4)
        for i in batches.indices {
            let indices = batches.fill(batch: i, inputs: &inputs, labels: &labels)
            let b = batches[i]
            XCTAssertEqual(indices, b.indices)
            XCTAssertEqual(Array(inputs[0..<b.inputs.count]), b.inputs)
            XCTAssertEqual(Array(labels[0..<b.count]), b.labels)
        }
        var direct = [Float](repeating: 0, count: 40)
        direct.withUnsafeMutableBufferPointer { s.fillInputs(indices: [8, 0], into: $0.baseAddress!) }
        XCTAssertEqual(direct, (s.pixels[160..<180] + s.pixels[0..<20]).map { Float($0) / 127.5 - 1 })
    }

    func testInvalidArgumentsThrow() throws {
        let s = try makeSet(count: 5)
        var rng = SeededGenerator(seed: 1)
        for size in [0, -3] {
            let error = expectDatasetError { try DatasetView.all(s).batches(batchSize: size, shuffle: true, rng: &rng) }
            XCTAssertEqual(error, .invalidBatchSize(size))
            XCTAssertTrue(error?.description.contains("\(size)") ?? false)
        }
        guard case .invalidAugmentation? = expectDatasetError({
            try DatasetView.all(s).batches(batchSize: 2, shuffle: false, rng: &rng, augmentations: [.randomCrop(padding: -1)])
        }) else { return XCTFail("expected invalidAugmentation") }
    }

    func testEmptyView() throws {
        let s = try makeSet(count: 3)
        var rng = SeededGenerator(seed: 1)
        XCTAssertEqual(try DatasetView.subset(s, indices: []).batches(batchSize: 4, shuffle: true, rng: &rng).count, 0)
    }

    // MARK: Augmentation

    /// A 3x4 image with distinct non-zero pixels.
    func augmentationSet() throws -> LabeledImages {
        let pixels: [UInt8] = (1...12).map { UInt8($0 * 20) }
        return try LabeledImages(height: 3, width: 4, pixels: pixels, labels: [0], classNames: ["x"])
    }

    func testFlipMirrorsOrKeeps() throws {
        let s = try augmentationSet()
        let original = s.pixels.map { Float($0) / 127.5 - 1 }
        let mirrored = (0..<3).flatMap { y in (0..<4).map { x in original[y * 4 + 3 - x] } }
        var flips = 0
        for seed in 0..<40 {
            var rng = SeededGenerator(seed: UInt64(seed))
            let b = try DatasetView.all(s).batches(batchSize: 1, shuffle: false, rng: &rng, augmentations: [.horizontalFlip])[0]
            if b.inputs == mirrored { flips += 1 } else { XCTAssertEqual(b.inputs, original) }
        }
        XCTAssertGreaterThan(flips, 5)
        XCTAssertLessThan(flips, 35)
    }

    func testRandomCropIsAShiftPaddedWithMinusOne() throws {
        let s = try augmentationSet()
        let original = s.pixels.map { Float($0) / 127.5 - 1 }
        func shifted(_ dy: Int, _ dx: Int) -> [Float] {
            (0..<3).flatMap { y in
                (0..<4).map { x -> Float in
                    let sy = y + dy, sx = x + dx
                    return (0..<3).contains(sy) && (0..<4).contains(sx) ? original[sy * 4 + sx] : -1
                }
            }
        }
        var seenShifts = Set<[Int]>()
        for seed in 0..<200 {
            var rng = SeededGenerator(seed: UInt64(seed))
            let batches = try DatasetView.all(s).batches(
                batchSize: 1, shuffle: false, rng: &rng, augmentations: [.randomCrop(padding: 1)])
            let inputs = batches[0].inputs
            let match = (-1...1).flatMap { dy in (-1...1).map { dx in [dy, dx] } }.first { shifted($0[0], $0[1]) == inputs }
            guard let match else { return XCTFail("seed \(seed): not a shift by at most 1: \(inputs)") }
            seenShifts.insert(match)
            XCTAssertEqual(batches[0].inputs, inputs, "rebuilding a batch gives the same augmentation")
        }
        XCTAssertEqual(seenShifts.count, 9, "every offset in -1...1 x -1...1 occurs")
        // Off by default: no change.
        var rng = SeededGenerator(seed: 0)
        XCTAssertEqual(try DatasetView.all(s).batches(batchSize: 1, shuffle: false, rng: &rng)[0].inputs, original)
    }

    func testAugmentationReproducibleAndShuffleOrderUnchanged() throws {
        let s = try makeSet(count: 30, height: 6, width: 6)
        let view = DatasetView.all(s)
        let augs: [Augmentation] = [.randomCrop(padding: 2), .horizontalFlip]
        var a = SeededGenerator(seed: 77), b = SeededGenerator(seed: 77), plain = SeededGenerator(seed: 77)
        let ea = try view.batches(batchSize: 7, shuffle: true, rng: &a, augmentations: augs)
        let eb = try view.batches(batchSize: 7, shuffle: true, rng: &b, augmentations: augs)
        let ep = try view.batches(batchSize: 7, shuffle: true, rng: &plain)
        XCTAssertEqual(Array(ea), Array(eb))
        XCTAssertEqual(ea.flatMap(\.indices), ep.flatMap(\.indices))
        XCTAssertNotEqual(ea.flatMap(\.inputs), ep.flatMap(\.inputs), "augmentation changed something")
        XCTAssertEqual(a, plain, "augmentation does not change the caller's stream")
        XCTAssertEqual(ea.flatMap(\.labels), ep.flatMap(\.labels))
    }
}
